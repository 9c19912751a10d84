/*
 * rate_test.c -- the token bucket, and the shared mode's granted slots:
 * taken when due, one 1/rate apart, in grant order; none granted is a
 * short wait; slots overdue by more than burst are dropped, not sent
 * at once; rate_ahead says how far the grants reach.
 */
#include <math.h>
#include <stdio.h>

#include "rate.h"
#include "unit.h"

#define NEAR(a, b)	(fabs((a) - (b)) < 1e-9)

int
main(void)
{
	struct rate	r;
	int		i, n;

	/* the bucket: burst at once, then one each 1/rate */
	rate_init(&r, 10.0, 2);
	CHECK("bucket 1st", rate_take(&r, 100.0) == 0);
	CHECK("bucket 2nd", rate_take(&r, 100.0) == 0);
	CHECK("bucket empty: wait 0.1", NEAR(rate_take(&r, 100.0), 0.1));
	CHECK("bucket refilled", rate_take(&r, 100.11) == 0);
	rate_destroy(&r);

	/* shared: nothing without a grant, whatever the bucket holds */
	rate_init(&r, 10.0, 2);
	rate_share(&r, 1);
	CHECK("no grant: starved", NEAR(rate_take(&r, 100.0), RATE_STARVED));
	CHECK("no grant: nothing ahead", rate_ahead(&r, 100.0) == 0);
	CHECK_INT("grant", rate_grant(&r, 100.5, 3), 0);
	CHECK("ahead to 100.8", NEAR(rate_ahead(&r, 100.0), 0.8));
	CHECK("not due: wait 0.5", NEAR(rate_take(&r, 100.0), 0.5));
	CHECK("1st slot", rate_take(&r, 100.5) == 0);
	CHECK("2nd not due", NEAR(rate_take(&r, 100.5), 0.1));
	CHECK("2nd slot", rate_take(&r, 100.6) == 0);
	CHECK("3rd slot", rate_take(&r, 100.7) == 0);
	CHECK("used up: starved", NEAR(rate_take(&r, 100.7), RATE_STARVED));

	/* two grants: in order */
	CHECK_INT("grant a", rate_grant(&r, 200.0, 1), 0);
	CHECK_INT("grant b", rate_grant(&r, 201.0, 1), 0);
	CHECK("a", rate_take(&r, 200.0) == 0);
	CHECK("b not due", NEAR(rate_take(&r, 200.0), 1.0));
	CHECK("b", rate_take(&r, 201.0) == 0);

	/* a late grant: at most burst (2) overdue slots go, the rest is
	 * dropped */
	CHECK_INT("late grant", rate_grant(&r, 300.0, 10), 0);
	for (n = 0, i = 0; i < 20; i++)
		if (rate_take(&r, 300.65) == 0)
			n++;
	/* due by 300.65: 300.0 ... 300.6 (7 slots); kept: those within
	 * burst x 0.1 s of now, 300.5 and 300.6 */
	CHECK_INT("late: only burst overdue", n, 2);
	CHECK("late: the next one on time", NEAR(rate_take(&r, 300.65), 0.05));

	/* full */
	rate_init(&r, 10.0, 2);
	rate_share(&r, 1);
	for (i = 0; i < RATE_GRANTS; i++)
		rate_grant(&r, 400.0 + i, 1);
	CHECK_INT("full", rate_grant(&r, 500.0, 1), -1);
	rate_share(&r, 0);
	CHECK("unshared: the bucket again", rate_take(&r, 400.0) == 0);
	rate_destroy(&r);
	return unit_done("rate");
}
