/*
 * cli.h -- the CLI's talk to the daemon (cli_client.c).
 */
#ifndef BROADSIDE_CLI_H
#define BROADSIDE_CLI_H

#include <jansson.h>
#include <stddef.h>

struct cli_env {
	const char	*config_path;
	struct config	*conf;
	const char	*socket;
	int		 bar_on;	/* a progress bar ends stderr's line */
	int		 unavail_exit;	/* daemon unreachable: this exit
					   code (0: EXIT_UNAVAIL, 69) */
};
extern struct cli_env	 cli;

void	 cli_die(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	 cli_load_config(void);
json_t	*cli_call(const char *, const char *, const void *, size_t, long *);
json_t	*cli_call_json(const char *, const char *, json_t *, long *);
void	 cli_check(json_t *, long, int);
void	 cli_close(void);

#endif
