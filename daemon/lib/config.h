/*
 * config.h -- the config file (libconfig): one table of keys, their
 * types, ranges and defaults (config.c), read into struct config.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

enum smtp_tls {
	SMTP_TLS_NONE,
	SMTP_TLS_STARTTLS,
	SMTP_TLS_TLS,
};

/* One SMTP relay (smtp.relays, or smtp.url alone). */
struct config_relay {
	char		*name;		/* host[:port] of the URL: logs, metrics */
	char		*url;
	enum smtp_tls	 tls;
	char		*username;
	char		*password_file;
	char		*password;	/* read from password_file; never logged */
	int		 weight;	/* share of the messages, 1-1000 */
	int		 connections;	/* its own, or its weight's share of
					   smtp.connections */
};

/* One pacing group (pacing.groups): a destination's own rate. */
struct config_pacing {
	char		*match;		/* a domain or an MX parent domain,
					   lowercase */
	char		*key;		/* its group: dest_key(match) */
	double		 rate;		/* messages a second; 0: unlimited */
	int		 connections;	/* messages out at once; 0: no cap */
	int		 line;
};

struct config {
	char		*file;		/* absolute path of the config file */

	/* list */
	char		*list_name;
	char		*list_from;	/* "Name <addr>" as written */
	char		*list_from_name;
	char		*list_from_addr;
	char		*list_reply_to;
	char		*list_id;
	char		*list_base_url;	/* no trailing slash */
	char		*list_description;	/* shown on /; NULL when unset */

	/* site */
	char		*site_language;	/* BCP 47, normalised; default "en" */

	/* smtp */
	char		*smtp_url;
	enum smtp_tls	 smtp_tls;
	char		*smtp_ca_file;
	char		*smtp_username;
	char		*smtp_password_file;
	char		*smtp_password;	/* read from password_file; never logged */
	int		 smtp_connections;
	int		 smtp_timeout;
	/* the relays: smtp.relays, or one made of smtp.url and its keys */
	struct config_relay *smtp_relays;
	int		 smtp_nrelays;
	int		 smtp_sessions;	/* the relays' connections, summed */

	/* rate */
	double		 rate_mps;
	int		 rate_burst;
	int		 rate_batch_size;

	/* pacing: per destination (issue 12 section 3) */
	double		 pacing_default;	/* a group's rate when not
						   configured; 0: unlimited */
	char		*pacing_dns;		/* "ADDR:PORT" for MX lookups;
						   NULL: the system's */
	struct config_pacing *pacing_groups;
	int		 pacing_ngroups;

	/* retry */
	int		 retry_max_attempts;
	int		 retry_initial_delay;
	int		 retry_max_delay;

	char		*storage_path;		/* the SQLite file, or the
						   postgresql:// URL */
	char		*storage_url;		/* as written; may hold secrets */
	char		*storage_node;		/* NULL: the host name */
	char		*storage_password_file;
	char		*storage_password;	/* PostgreSQL's; never logged */
	char		*subscribers_file;	/* NULL when unset */
	char		*control_socket;
	char		*http_listen;		/* NULL when unset */
	int		 feed_items;
	char		*feed_path;
	char		*templates_dir;
	char		*secret_file;

	/* dkim: optional; the keys are loaded unless CONFIG_NOSECRETS */
	char		*dkim_domain;		/* NULL: no signing */
	char		*dkim_selector;
	char		*dkim_key_file;
	char		*dkim_ed25519_selector;
	char		*dkim_ed25519_key_file;
	struct dkim	*dkim;			/* the keys; a reference */

	/* bounce: optional; envelope senders b-TOKEN@bounce_domain */
	char		*bounce_domain;		/* NULL: MAIL FROM is list.from's
						   address; else lowercase,
						   A-labels */
};

struct dkim;

#define CONFIG_NOSECRETS	0x01	/* CLI: do not read password_file nor
					   the DKIM keys */
struct config	*config_load(const char *, int, int (*)(void *, const char *),
		    void *);
void		 config_free(struct config *);
const char	*config_default_path(void);
int		 config_read_secret(const struct config *, unsigned char *,
		    size_t, char *, size_t);
struct render_site;
void		 config_site(const struct config *, struct render_site *);

#endif
