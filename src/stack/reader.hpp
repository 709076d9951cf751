// Typed, positioned reads from the parsed TOML: every read reports what is wrong
// (unknown key, wrong type, missing key, bad ${VAR}) to a Context, which collects
// all problems so that the user sees them in one go.
#pragma once

#include "stack/load.hpp"
#include "stack/model.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mldeploy::stack::detail {

template <class T>
struct Located {
    T value;
    SourcePos pos;
};

class Context {
public:
    Context(std::string file_label, std::filesystem::path dir, EnvLookup env);

    SourcePos pos_of(const toml::node& node) const;
    SourcePos pos_of(const toml::key& key) const;
    SourcePos whole_file() const;  // for problems with no single place

    void error(SourcePos pos, std::string message);
    bool has_errors() const { return !diagnostics_.empty(); }
    std::vector<Diagnostic> take_diagnostics();  // in file order

    // ${VAR} substitution; reports a problem at `pos` and returns nullopt on failure.
    std::optional<std::string> interpolate(std::string_view text, const SourcePos& pos);

    // `path` against the stack file's folder, normalised, without a trailing '/'.
    std::filesystem::path resolve(std::string_view path) const;

private:
    std::string file_label_;
    std::filesystem::path dir_;
    EnvLookup env_;
    std::vector<Diagnostic> diagnostics_;
};

enum class Need { optional, required };

class TableReader {
public:
    // `dotted` names the table as in a header, "services.recommender"; empty for the
    // top level. `array_entry` for an entry of an array of tables ([[balancer.routes]]).
    TableReader(Context& ctx, const toml::table& table, std::string dotted, bool array_entry = false);

    Context& context() const { return ctx_; }
    SourcePos pos() const;
    std::string where() const;                      // "in [services.recommender]"
    std::string child(std::string_view key) const;  // "services.recommender.health"

    // Reports every key not in `allowed`, with a "did you mean" when one is close.
    void allow_only(const std::vector<std::string>& allowed) const;

    // The entries in the order they are written (toml++ keeps them sorted by key).
    std::vector<std::pair<const toml::key*, const toml::node*>> entries_in_order() const;

    // Each returns nullopt when the key is absent or its value wrong (already reported).
    const toml::node* find(std::string_view key, Need need = Need::optional) const;
    std::optional<Located<std::string>> string(std::string_view key, Need need = Need::optional) const;
    std::optional<Located<std::int64_t>> integer(std::string_view key, Need need = Need::optional) const;
    std::optional<Located<double>> number(std::string_view key, Need need = Need::optional) const;
    std::optional<Located<bool>> boolean(std::string_view key, Need need = Need::optional) const;
    std::optional<Located<Millis>> duration(std::string_view key, Need need = Need::optional) const;
    std::optional<Located<std::int64_t>> size(std::string_view key, Need need = Need::optional) const;
    const toml::table* subtable(std::string_view key) const;
    std::optional<std::vector<Located<std::string>>> strings(std::string_view key) const;

    // A string (interpolated), number or boolean as text: environment values, build args.
    std::optional<std::string> scalar_text(const toml::key& key, const toml::node& value) const;

    void wrong_type(std::string_view key, const toml::node& value, std::string_view expected) const;

private:
    Context& ctx_;
    const toml::table& table_;
    std::string dotted_;
    bool array_entry_;
};

// "a string", "an integer", ... for messages.
std::string_view type_phrase(toml::node_type type);

// "a, b, c"
std::string join(const std::vector<std::string>& words, std::string_view separator = ", ");

}  // namespace mldeploy::stack::detail
