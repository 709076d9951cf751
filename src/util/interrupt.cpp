#include "util/interrupt.hpp"

namespace mldeploy::util {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void remember_signal(int sig) { g_signal = sig; }

}  // namespace

InterruptScope::InterruptScope() {
    g_signal = 0;
    struct sigaction action {};
    action.sa_handler = remember_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
}

InterruptScope::~InterruptScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
}

int InterruptScope::requested() { return g_signal; }

}  // namespace mldeploy::util
