/*
 * fields.c -- subscriber fields from their stored JSON text (jansson).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "util.h"

void
fields_decode(const char *text, struct fields *f)
{
	json_t		*obj, *v;
	const char	*k;

	memset(f, 0, sizeof(*f));
	if (text == NULL || strcmp(text, "{}") == 0 ||
	    (obj = json_loads(text, 0, NULL)) == NULL)
		return;
	f->priv = obj;
	if (!json_is_object(obj) || json_object_size(obj) == 0)
		return;
	f->names = xcalloc(json_object_size(obj), sizeof(*f->names));
	f->values = xcalloc(json_object_size(obj), sizeof(*f->values));
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			continue;
		f->names[f->n] = k;
		f->values[f->n] = json_string_value(v);
		f->n++;
	}
}

void
fields_free(struct fields *f)
{
	free(f->names);
	free(f->values);
	json_decref(f->priv);
	memset(f, 0, sizeof(*f));
}
