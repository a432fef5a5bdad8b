/* nn_signal.c - async-signal-safe flag for SIGTERM/SIGUSR1. The handler stores the signal number
 * once; the program decides what to do at the next item boundary. */
#include "nn_signal.h"

#include <signal.h>
#include <string.h>

#include "nn_error.h"

static volatile sig_atomic_t caught_signal = 0;

static void on_signal(int sig)
{
    if (!caught_signal)
        caught_signal = sig;
}

int signal_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
        return nn_fail(NN_ERR_RUNTIME, "cannot install signal handlers");
    return NN_OK;
}

int signal_pending(void) { return (int)caught_signal; }

void signal_reset(void) { caught_signal = 0; }
