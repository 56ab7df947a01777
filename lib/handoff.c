/* lib/handoff.c - slots handed from one thread to another. See handoff.h. */
#include "lib/handoff.h"

int lk_handoff_init(struct lk_handoff *h, unsigned n)
{
	h->n = n;
	h->filled = h->taken = 0;
	h->have = h->closed = h->stopped = false;
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	return 0;
}

void lk_handoff_destroy(struct lk_handoff *h)
{
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
}

int lk_handoff_claim(struct lk_handoff *h)
{
	pthread_mutex_lock(&h->mu);
	/* slot `filled` is free when the consumer has taken and let go of the
	 * one n slots before it */
	while (h->filled - (h->taken - h->have) >= h->n && !h->stopped)
		pthread_cond_wait(&h->cv, &h->mu);
	int i = h->stopped ? -1 : (int)(h->filled % h->n);
	pthread_mutex_unlock(&h->mu);
	return i;
}

void lk_handoff_fill(struct lk_handoff *h, bool last)
{
	pthread_mutex_lock(&h->mu);
	h->filled++;
	if (last)
		h->closed = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void lk_handoff_close(struct lk_handoff *h)
{
	pthread_mutex_lock(&h->mu);
	h->closed = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

int lk_handoff_take(struct lk_handoff *h)
{
	pthread_mutex_lock(&h->mu);
	if (h->have) {
		h->have = false;
		pthread_cond_broadcast(&h->cv);
	}
	while (h->taken == h->filled && !h->closed)
		pthread_cond_wait(&h->cv, &h->mu);
	int i = -1;
	if (h->taken < h->filled) {
		i = (int)(h->taken % h->n);
		h->taken++;
		h->have = true;
	}
	pthread_mutex_unlock(&h->mu);
	return i;
}

void lk_handoff_stop(struct lk_handoff *h)
{
	pthread_mutex_lock(&h->mu);
	h->stopped = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}
