/* nn_timer.h - wall-clock time for phase timings and progress. */
#ifndef NN_TIMER_H
#define NN_TIMER_H

/* Seconds on a monotonic clock (arbitrary origin). */
double timer_now(void);

#endif
