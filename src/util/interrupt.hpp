// Ctrl-C and SIGTERM taken as a request, for work that must be undone rather
// than cut (a canary rolls back): while an InterruptScope lives, the signals
// only set a flag the work polls; before and after, they act as they did.
#pragma once

#include <csignal>

namespace mldeploy::util {

class InterruptScope {
public:
    InterruptScope();
    ~InterruptScope();
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

    // SIGINT or SIGTERM came while a scope lived (0 when none).
    static int requested();

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

}  // namespace mldeploy::util
