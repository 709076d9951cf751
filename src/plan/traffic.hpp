// `mldeploy traffic`'s pure part: the shares a command line asks for
// ("recs=90 recs-v2=10"), the route they are for, and the rule by which a
// live split (kept in the balancer's stack.json) survives an `up`.
#pragma once

#include "stack/model.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace mldeploy::plan {

// The command line asks for a split that cannot be (exit 2, nothing changed).
class TrafficError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Share {
    std::string service;
    int percent = 0;
    bool operator==(const Share&) const = default;
};

// "SVC=PCT" words: integers 0..100 summing to 100, each service once.
std::vector<Share> parse_shares(const std::vector<std::string>& words);

// The index of the route `path` names; with no path, of the one route whose
// backends hold every service of `shares` (any route when `shares` is empty
// and the stack has one). Throws TrafficError saying what would be right.
std::size_t route_for(const stack::Stack& stack, const std::string& path, const std::vector<Share>& shares);

// The route's new split: its backends in the file's order, with the shares'
// percents (0 for a backend not named). Throws for a service not behind it.
std::vector<stack::Backend> split_of(const stack::Route& route, const std::vector<Share>& shares);

// Makes `split` the route's live split (none when it is the file's own).
void set_live(stack::Route& route, const std::vector<stack::Backend>& split);

// "90/10" and "recs 90, recs-v2 10".
std::string percents_text(const std::vector<stack::Backend>& split);
std::string split_text(const std::vector<stack::Backend>& split);

// What `up` says of the live splits it found.
struct CarriedSplits {
    std::vector<std::string> kept;      // routes the file did not change: their live split stays
    std::vector<std::string> replaced;  // routes the file changed: the file's split replaces the live one
};

// `up`: each route of `file` that the deployed stack runs with a live split
// keeps it when the file did not change the route (Route::same_in_file);
// otherwise the file's split applies. `file` is changed in place.
CarriedSplits carry_live_splits(stack::Stack& file, const stack::Stack& deployed);

}  // namespace mldeploy::plan
