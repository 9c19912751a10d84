/*
 * broadside.h -- what the daemon and the CLI share: version, exit codes,
 * and the config, log and util headers of the library.
 */
#ifndef BROADSIDE_H
#define BROADSIDE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BROADSIDE_VERSION	"0.1.0"
#define BROADSIDE_DEFAULT_CONFIG "/etc/broadside/broadside.conf"

/* sysexits.h values, named here so the contract is visible in one place */
#define EXIT_USAGE	64
#define EXIT_DATAERR	65
#define EXIT_NOINPUT	66
#define EXIT_UNAVAIL	69
#define EXIT_SOFTWARE	70
#define EXIT_TEMPFAIL	75
#define EXIT_CONFIG	78

#include "config.h"
#include "log.h"
#include "util.h"

#endif
