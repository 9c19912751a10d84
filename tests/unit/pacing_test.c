/*
 * pacing_test.c -- destination groups (core/pacing.c): one bucket per
 * provider, a configured match, the cap on messages out, the slowing
 * down on a throttle (halved at most once a second, down to 1/64) and
 * the additive recovery (a tenth of the rate a second).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "pacing.h"
#include "unit.h"

#define NEAR(a, b)	(fabs((a) - (b)) < 1e-6)

int
main(void)
{
	struct config		 c;
	struct config_pacing	 g[2];
	struct pacing_group	*gm, *gm2, *ex, *sub, *other;
	double			 t = 1000.0;
	int			 i;

	memset(&c, 0, sizeof(c));
	memset(g, 0, sizeof(g));
	g[0].match = "gmail.com";
	g[0].key = "gmail.com";
	g[0].rate = 20;
	g[1].match = "example.org";
	g[1].key = "example.org";
	g[1].rate = 10;
	g[1].connections = 2;
	c.pacing_groups = g;
	c.pacing_ngroups = 2;
	pacing_config(&c);
	CHECK("pacing on", pacing_active());

	gm = pacing_group_of("a@gmail.com");
	gm2 = pacing_group_of("b@GoogleMail.com");
	CHECK("gmail.com and googlemail.com: one group", gm != NULL &&
	    gm == gm2);
	CHECK_STR("its match", gm->match, "gmail.com");
	ex = pacing_group_of("x@example.org");
	sub = pacing_group_of("y@lists.example.org");
	CHECK("a subdomain of a match: the match's group", ex == sub);
	/* without the resolver started: the domain itself */
	other = pacing_group_of("z@elsewhere.test");
	CHECK("another domain: its own group", other != NULL && other != gm &&
	    other != ex);
	CHECK_STR("unconfigured, no default: the unpaced group", other->key,
	    PACING_UNPACED);
	CHECK("unpaced", pacing_wait(other, t) == 0);
	CHECK("one unpaced group", pacing_group_of("w@more.test") == other);

	/* the bucket: 2 saved, then one every 1/10 s */
	CHECK("first", pacing_wait(ex, t) == 0);
	pacing_take(ex, t);
	CHECK("second", pacing_wait(ex, t) == 0);
	pacing_take(ex, t);
	CHECK("cap of 2 out", pacing_wait(ex, t) < 0);
	pacing_done(ex, 1);
	pacing_done(ex, 0);
	CHECK_INT("sent counted", (int)ex->sent, 1);
	CHECK("no token: a wait of 0.1 s", NEAR(pacing_wait(ex, t), 0.1));
	CHECK("a token 0.1 s later", pacing_wait(ex, t + 0.1) == 0);

	/* a throttle halves, not twice within a second */
	CHECK("slowed", pacing_slow(gm, t));
	CHECK("to half", NEAR(pacing_rate_now(gm, t), 10));
	CHECK("not again within 1 s", !pacing_slow(gm, t + 0.5));
	CHECK_INT("both counted", (int)gm->throttled, 2);
	/* back by 2 a second (a tenth of 20): 10 + 3 x 2 = 16 */
	CHECK("recovering", NEAR(pacing_rate_now(gm, t + 3.0), 16.0));
	CHECK("back at full after 5 s", NEAR(pacing_rate_now(gm, t + 10),
	    20));
	/* down to 1/64 at most */
	for (i = 0; i < 20; i++)
		pacing_slow(gm, t + 20 + i * 1.5);
	CHECK("floor 20/64", pacing_rate_now(gm, t + 20 + 19 * 1.5) >=
	    20.0 / 64 - 1e-9 && pacing_rate_now(gm, t + 20 + 19 * 1.5) <
	    20.0 / 64 + 20 * 0.1 * 1.5);

	/* a reload: settings again, at full rate */
	g[0].rate = 5;
	pacing_config(&c);
	CHECK("new rate", NEAR(pacing_rate_now(gm, t + 60), 5));
	/* a default: every domain its own bucket */
	c.pacing_default = 4;
	pacing_config(&c);
	sub = pacing_group_of("w@more.test");
	CHECK("a default: its own group", sub != other && sub != NULL &&
	    strcmp(sub->key, "more.test") == 0);
	CHECK("at the default rate", NEAR(pacing_rate_now(sub, t + 61), 4));
	c.pacing_default = 0;
	c.pacing_ngroups = 0;
	pacing_config(&c);
	CHECK("no groups, no default: off", !pacing_active());
	CHECK("unconfigured: unpaced", pacing_wait(gm, t + 61) == 0);
	CHECK("off: everyone in the unpaced group",
	    pacing_group_of("a@gmail.com") == other);
	pacing_free();
	return unit_done("pacing");
}
