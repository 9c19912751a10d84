/*
 * http_linger.h -- lingering close for the daemon's evhttp servers (the
 * public listener and the control socket); implemented in http.c.
 *
 * SYNOPSIS
 *	static void
 *	conn_close_cb(struct evhttp_connection *evcon, void *arg)
 *	{
 *		http_linger(env->base, evcon, gone_cb, arg);
 *	}
 *	...
 *	evhttp_free(h);
 *	http_linger_flush();
 *
 * WHY
 *	libevent 2.1's evhttp answers a request whose body is over
 *	evhttp_set_max_body_size() (by Content-Length, or once a chunked
 *	body grows past it) with 413 and "Connection: close", and frees the
 *	connection as soon as the answer is in the kernel.  The client is
 *	usually still sending its body then: closing a socket with unread
 *	input makes the kernel send a reset (TCP) or fail the peer's writes
 *	(UNIX), and the client never reads the 413 -- curl reported "000".
 *	(EVHTTP_SERVER_LINGERING_CLOSE is no cure: it reads the whole
 *	declared body before answering, without bound.)
 *
 * BEHAVIOUR
 *	http_linger() is called from an evhttp close callback, while the
 *	connection's descriptor is still open.  It keeps its own duplicate
 *	of the descriptor, shuts the write side down (the client reads the
 *	answer, then end of file) and reads and discards what the client
 *	still sends, as nginx's lingering close does, until the client
 *	closes, HTTP_LINGER_IDLE seconds pass without a byte,
 *	HTTP_LINGER_TIME seconds pass in all, or HTTP_LINGER_MAX octets
 *	were discarded; then it closes the duplicate and calls done(arg)
 *	(if not NULL).  done is called exactly once, at once if the
 *	descriptor cannot be kept.  A connection that closed cleanly ends
 *	at the first read (end of file).
 *
 *	http_linger_flush() ends every lingering connection now (shutdown).
 *
 * THREADING
 *	Main loop only.
 */
#ifndef BROADSIDE_HTTP_LINGER_H
#define BROADSIDE_HTTP_LINGER_H

struct event_base;
struct evhttp_connection;

#define HTTP_LINGER_TIME	10		/* seconds in all */
#define HTTP_LINGER_IDLE	5		/* seconds without a byte */
#define HTTP_LINGER_MAX		(8 * 1024 * 1024) /* octets discarded */

void	http_linger(struct event_base *, struct evhttp_connection *,
	    void (*done)(void *), void *arg);
void	http_linger_flush(void);

#endif
