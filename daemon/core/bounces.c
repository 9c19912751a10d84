/*
 * bounces.c -- returned messages and complaints (bounces.h): the VERP
 * envelope sender of each broadcast message, and the verdicts of
 * `broadside bounce`, verified here and recorded on the writer thread.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounces.h"
#include "config.h"
#include "token.h"
#include "verp.h"

struct bjob {
	int64_t				 bc, sub;
	enum store_bounce		 kind;
	const char			*via;
	char				 status[16];
	struct store_bounce_result	 res;
	char				 err[256];
	bounces_cb			 cb;
	void				*arg;
};

static struct {
	struct verp_key		*vk;
	struct token_key	*tk;
	struct bounces_stats	 stats;
} b;

int
bounces_init(char *err, size_t errlen)
{
	if ((b.vk = verp_key_new(env->key, (size_t)env->keylen, err,
	    errlen)) == NULL)
		return -1;
	if ((b.tk = token_key_new(env->key, (size_t)env->keylen, err,
	    errlen)) == NULL) {
		verp_key_free(b.vk);
		b.vk = NULL;
		return -1;
	}
	return 0;
}

void
bounces_free(void)
{
	verp_key_free(b.vk);
	token_key_free(b.tk);
	b.vk = NULL;
	b.tk = NULL;
}

char *
bounces_sender(int64_t bc, int64_t sub)
{
	const char	*dom = env->conf->bounce_domain;
	char		 t[VERP_SIZE], *s;

	if (dom == NULL || b.vk == NULL || bc <= 0 || sub <= 0)
		return NULL;
	if (verp_make(b.vk, (uint64_t)bc, (uint64_t)sub, t, sizeof(t)) == -1) {
		log_warnx("bounce: broadcast %" PRId64 " subscriber %" PRId64
		    ": cannot make the envelope token; MAIL FROM is the list's",
		    bc, sub);
		return NULL;
	}
	xasprintf(&s, VERP_PREFIX "%s@%s", t, dom);
	return s;
}

/* A number of at most 19 digits, no sign, no leading zero; end after. */
static int
bounces_num(const char **pp, uint64_t *v)
{
	const char	*p = *pp;
	size_t		 n = 0;

	*v = 0;
	if (*p == '0' && isdigit((unsigned char)p[1]))
		return -1;
	while (isdigit((unsigned char)*p) && n < 19) {
		*v = *v * 10 + (uint64_t)(*p++ - '0');
		n++;
	}
	if (n == 0 || isdigit((unsigned char)*p))
		return -1;
	*pp = p;
	return 0;
}

/*
 * The Message-ID render.c makes, "b<bc>.r<sub>.<8 hex>@<list.id>" (with
 * or without its angle brackets): its 32-bit MAC is that of purpose
 * "message-id/<bc>" and id <sub> under the token key.
 */
static int
bounces_mid_check(const char *mid, uint64_t *bc, uint64_t *sub)
{
	unsigned char	 mac[TOKEN_MACLEN];
	const char	*p = mid;
	char		 purpose[48], hex[9];
	int		 i;

	while (*p == ' ' || *p == '<')
		p++;
	if (*p++ != 'b' || bounces_num(&p, bc) == -1 || *p++ != '.' ||
	    *p++ != 'r' || bounces_num(&p, sub) == -1 || *p++ != '.')
		return -1;
	for (i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)p[i]))
			return -1;
	if (p[8] != '@')
		return -1;
	snprintf(purpose, sizeof(purpose), "message-id/%" PRIu64, *bc);
	if (token_key_mac(b.tk, purpose, *sub, mac) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		snprintf(hex + 2 * i, sizeof(hex) - 2 * (size_t)i, "%02x",
		    mac[i]);
	return strncasecmp(hex, p, 8) == 0 ? 0 : -1;
}

/* The writer thread: the store write. */
static int
bounces_work(struct store *st, void *arg)
{
	struct bjob	*j = arg;

	return store_bounce_record(st, j->bc, j->sub, j->kind,
	    BOUNCES_SOFT_LIMIT, &j->res, j->err, sizeof(j->err));
}

/* The loop: it is in the store (or not); stop them, log, answer. */
static void
bounces_done(void *arg, int rc)
{
	struct bjob		*j = arg;
	struct bounce_outcome	 out;
	const char		*kind = store_bounce_strkind(j->kind);
	static char		 why[96];

	if (rc == -1) {
		log_warnx("bounce: broadcast %" PRId64 " subscriber %" PRId64
		    ": %s not recorded: %s", j->bc, j->sub, kind, j->err);
		j->cb(CORE_FAILED, NULL, j->err, j->arg);
		free(j);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.broadcast = j->bc;
	out.subscriber = j->sub;
	out.kind = j->kind;
	out.via = j->via;
	out.status = j->res.status;
	out.soft = j->res.soft;
	if (!j->res.known) {
		out.result = "ignored";
		out.why = "no such delivery in the store";
		b.stats.ignored++;
	} else if (!j->res.recorded) {
		out.result = "duplicate";
		out.why = "recorded before";
		b.stats.duplicate++;
	} else {
		out.result = "recorded";
		if (j->res.suppressed)
			out.why = store_sub_strstatus(j->res.status);
		else if (j->kind == STORE_BOUNCE_SOFT &&
		    j->res.status == SUB_ACTIVE) {
			snprintf(why, sizeof(why), "counted: %" PRId64 " of %d "
			    "broadcasts", j->res.soft, BOUNCES_SOFT_LIMIT);
			out.why = why;
		} else {
			snprintf(why, sizeof(why), "subscriber already %s",
			    store_sub_strstatus(j->res.status));
			out.why = why;
		}
		if (j->kind == STORE_BOUNCE_HARD)
			b.stats.hard++;
		else if (j->kind == STORE_BOUNCE_SOFT)
			b.stats.soft++;
		else
			b.stats.complaint++;
	}
	/* no further message to them leaves, from this broadcast either */
	if (j->res.suppressed)
		queue_subscriber_stop(j->sub);
	log_info("bounce: broadcast %" PRId64 " subscriber %" PRId64
	    ": %s%s%s via=%s result=%s: %s", j->bc, j->sub, kind,
	    j->status[0] ? " status=" : "", j->status, j->via, out.result,
	    out.why);
	j->cb(CORE_OK, &out, NULL, j->arg);
	free(j);
}

static int
bounces_ignore(struct bounce_outcome *out, const char *why,
    const struct bounce_verdict *v)
{
	out->result = "ignored";
	out->why = why;
	b.stats.ignored++;
	log_info("bounce: %s ignored: %s", store_bounce_strkind(v->kind), why);
	return 0;
}

int
bounces_report(const struct bounce_verdict *v, struct bounce_outcome *out,
    bounces_cb cb, void *arg)
{
	struct bjob	*j;
	uint64_t	 bc = 0, sub = 0;
	const char	*via;

	memset(out, 0, sizeof(out[0]));
	out->kind = v->kind;
	if (b.vk == NULL || b.tk == NULL)
		return bounces_ignore(out, "no keys", v);
	if (v->verp != NULL && *v->verp != '\0') {
		/* the envelope says it is ours: it must be, or it is
		 * someone's invention, whatever the message holds */
		if (verp_check(b.vk, v->verp, &bc, &sub) == -1)
			return bounces_ignore(out, "forged or damaged envelope "
			    "token", v);
		via = "envelope";
	} else if (v->message_id != NULL &&
	    bounces_mid_check(v->message_id, &bc, &sub) == 0)
		via = "message-id";
	else if (v->unsub != NULL && token_key_check(b.tk, "unsubscribe",
	    v->unsub, &sub) == 0) {
		bc = 0;
		via = "list-unsubscribe";
	} else
		return bounces_ignore(out, "no envelope token, Message-ID or "
		    "List-Unsubscribe token of ours", v);
	/* test sends and confirmation mails are no broadcast's deliveries */
	if (sub == 0 || sub > INT64_MAX || bc > INT64_MAX)
		return bounces_ignore(out, "not a broadcast delivery", v);
	out->via = via;
	out->broadcast = (int64_t)bc;
	out->subscriber = (int64_t)sub;

	j = xcalloc(1, sizeof(*j));
	j->bc = (int64_t)bc;
	j->sub = (int64_t)sub;
	j->kind = v->kind;
	j->via = via;
	/* for the log: an RFC 3463 code or nothing, never the sender's text */
	if (v->status != NULL && strlen(v->status) < sizeof(j->status) &&
	    strspn(v->status, "0123456789.") == strlen(v->status))
		memcpy(j->status, v->status, strlen(v->status) + 1);
	j->cb = cb;
	j->arg = arg;
	writer_submit(env->writer, bounces_work, bounces_done, j);
	return 1;
}

void
bounces_stats(struct bounces_stats *s)
{
	*s = b.stats;
}
