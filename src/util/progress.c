/* progress.c - progress bar / log lines with rate and ETA. Rate counts only items done in this
 * run, so a resumed job does not report an inflated speed. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nn_log.h"
#include "nn_timer.h"

static void format_seconds(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e8)
        snprintf(buf, len, "?");
    else if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, len, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void progress_print(progress_t *p, int final)
{
    if (log_is_quiet())
        return;
    double now = timer_now(), elapsed = now - p->t_start;
    int fresh = p->done - p->done_at_start;
    double rate = elapsed > 0 ? fresh / elapsed : 0;
    char eta[32], el[32];
    format_seconds(rate > 0 ? (p->total - p->done) / rate : -1, eta, sizeof eta);
    format_seconds(elapsed, el, sizeof el);
    if (p->tty) {
        int width = 30, filled = p->total > 0 ? width * p->done / p->total : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r%s [%s] %d/%d  %.2f items/s  elapsed %s  ETA %s   %s", p->label, bar,
                p->done, p->total, rate, el, final ? "0s" : eta, final ? "\n" : "");
    } else {
        fprintf(stderr, "nnsweep: %s %d/%d items (%.0f%%), %.2f items/s, elapsed %s, ETA %s\n",
                p->label, p->done, p->total, p->total ? 100.0 * p->done / p->total : 100.0, rate,
                el, final ? "0s" : eta);
    }
    fflush(stderr);
    p->t_last_print = now;
}

void progress_start(progress_t *p, const char *label, int total, int done_already)
{
    p->label = label;
    p->total = total;
    p->done = p->done_at_start = done_already;
    p->t_start = p->t_last_print = timer_now();
    const char *iv = getenv("NNSWEEP_PROGRESS_INTERVAL");
    p->interval = iv ? atof(iv) : 10.0;
    p->tty = isatty(STDERR_FILENO);
}

void progress_step(progress_t *p)
{
    p->done++;
    if (p->tty || timer_now() - p->t_last_print >= p->interval)
        progress_print(p, 0);
}

void progress_finish(progress_t *p) { progress_print(p, 1); }
