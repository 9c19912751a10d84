/*
 * confirm.c -- the double opt-in mail, from the confirm templates.  Built
 * on the main loop (it reads the config, which a reload may replace) and
 * handed to the sender pool as is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "core.h"
#include "mime.h"
#include "mustache.h"
#include "render.h"
#include "token.h"

int
confirm_build(struct token_key *tkey, int64_t sid, const char *email,
    const char *name, const char *lang, struct buf *out, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct mus_pair		 vars[4];
	struct mime_msg		 m;
	struct buf		 text = BUF_INIT, html = BUF_INIT;
	char			 tok[TOKEN_SIZE], *confirm = NULL, *unsub = NULL;
	char			 mid[128];
	struct buf		 subject = BUF_INIT;
	int			 ret = -1;

	config_site(env->conf, &site);
	/* in the language the reader chose on the form, else the site's */
	if (lang != NULL && *lang != '\0')
		site.lang = lang;
	if (token_key_make(tkey, "confirm", (uint64_t)sid, tok,
	    sizeof(tok)) == -1)
		goto end;
	xasprintf(&confirm, "%s/confirm?t=%s", site.base_url, tok);
	if (token_key_make(tkey, "unsubscribe", (uint64_t)sid, tok,
	    sizeof(tok)) == -1)
		goto end;
	xasprintf(&unsub, "%s/unsubscribe?t=%s", site.base_url, tok);
	vars[0].key = "email";
	vars[0].val = mus_str(email, strlen(email));
	vars[1].key = "name";
	vars[1].val = mus_str(name, strlen(name));
	vars[2].key = "confirm_url";
	vars[2].val = mus_str(confirm, strlen(confirm));
	vars[3].key = "unsubscribe_url";
	vars[3].val = mus_str(unsub, strlen(unsub));
	if (render_page(&site, "confirm.txt", vars, 4, &text, err, errlen)
	    == -1 || render_page(&site, "confirm.html", vars, 4, &html, err,
	    errlen) == -1)
		goto end;
	if (render_string(&site, "confirm_mail_subject", vars, 4, &subject, err,
	    errlen) == -1)
		goto end;
	buf_addstr(&subject, "");
	snprintf(mid, sizeof(mid), "confirm.%" PRId64 ".%ld@%s", sid,
	    (long)time(NULL), site.list_id);
	memset(&m, 0, sizeof(m));
	m.from_name = site.from_name;
	m.from_addr = site.from_addr;
	m.reply_to = site.reply_to;
	m.subject = subject.p;
	m.list_id = site.list_id;
	m.content_language = site.lang;
	m.boundary = "=_bs.confirm";
	/* not confirmed yet: the bare address only, so nobody can put text
	 * of their choosing into a mail from the list's domain */
	m.to_name = "";
	m.to_addr = email;
	m.date = time(NULL);
	m.message_id = mid;
	m.list_unsubscribe_url = unsub;
	m.text = text.p ? text.p : "";
	m.textlen = text.len;
	m.html = html.p ? html.p : "";
	m.htmllen = html.len;
	ret = mime_message(out, &m, err, errlen);
end:
	free(confirm);
	free(unsub);
	buf_free(&text);
	buf_free(&html);
	buf_free(&subject);
	return ret;
}

