/*
 * fields.h -- a subscriber's extra CSV columns, kept in the store as the
 * text of a JSON object of strings ({"city":"Caracas"}), read back as
 * name/value pairs for the renderer.
 */
#ifndef FIELDS_H
#define FIELDS_H

#include <stddef.h>

struct fields {
	const char	**names;
	const char	**values;
	size_t		  n;
	void		 *priv;		/* the parsed object */
};

/* Parse text (NULL, "{}", or an object; values that are not strings
 * are left out).  Never fails: what cannot be read gives no fields. */
void	fields_decode(const char *, struct fields *);
void	fields_free(struct fields *);

#endif
