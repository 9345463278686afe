// SIGINT/SIGTERM turned into a flag a long job polls between steps (pretraining saves a
// checkpoint and stops there). C because a signal handler may only touch a
// volatile sig_atomic_t; Swift has no way to declare one.
#include "CVectorKernels.h"
#include <pthread.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t ek_stop_flag = 0;

static void ek_on_stop_signal(int sig) {
    (void)sig;
    ek_stop_flag = 1;
}

void ek_install_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ek_on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    // A parent may have started us with these signals blocked (the mask is inherited):
    // unblock them on this thread, so that they reach the handler.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int ek_stop_requested(void) { return ek_stop_flag != 0; }
