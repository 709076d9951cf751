#include "deploy/build_hash.hpp"

#include "util/context_walk.hpp"
#include "util/sha256.hpp"
#include "util/tar.hpp"

namespace mldeploy::deploy {
namespace {

// Bump when what goes into the hash changes, so that images labelled by an
// older mldeploy are rebuilt once rather than wrongly taken as up to date.
constexpr std::string_view scheme = "mldeploy build-hash 1\n";

// Each field is length-prefixed, so that no two different contexts can give
// the same byte stream (e.g. a path that ends where a file's bytes begin).
class Hasher : public util::ContextSink {
public:
    Hasher() { hash_.update(scheme); }

    void directory(const std::string& path, unsigned mode, std::time_t) override {
        tag('d');
        field(path);
        number(mode);
    }
    void symlink(const std::string& path, const std::string& target, std::time_t) override {
        tag('l');
        field(path);
        field(target);
    }
    void file_begin(const std::string& path, std::int64_t size, unsigned mode, std::time_t) override {
        tag('f');
        field(path);
        number(mode);
        number(static_cast<std::uint64_t>(size));  // the bytes follow, exactly this many
    }
    void file_data(std::string_view piece) override { hash_.update(piece); }
    void file_end() override {}

    void build_settings(const stack::Build& build) {
        tag('F');
        field(build.dockerfile);
        tag('A');
        number(build.args.size());
        for (const auto& [name, value] : build.args) {  // a std::map: sorted, so stable
            field(name);
            field(value);
        }
    }

    std::string digest() { return "sha256:" + hash_.hex_digest(); }

private:
    void tag(char c) { hash_.update(std::string_view(&c, 1)); }
    void number(std::uint64_t n) {
        char bytes[8];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (56 - 8 * i)) & 0xff);
        hash_.update(std::string_view(bytes, sizeof bytes));
    }
    void field(std::string_view text) {
        number(text.size());
        hash_.update(text);
    }

    util::Sha256 hash_;
};

std::vector<std::string> always_include(const stack::Build& build) { return {build.dockerfile}; }

std::vector<std::string> ignored(const stack::Build& build) {
    auto patterns = util::read_dockerignore(build.context);
    patterns.insert(patterns.end(), build.ignore.begin(), build.ignore.end());
    return patterns;
}

}  // namespace

std::string build_hash(const stack::Build& build) {
    Hasher hasher;
    util::walk_context(build.context, ignored(build), always_include(build), hasher);
    hasher.build_settings(build);
    return hasher.digest();
}

PackedContext pack_build_context(const stack::Build& build) {
    Hasher hasher;
    PackedContext packed;
    packed.tar =
        util::tar_directory(build.context, ignored(build), always_include(build), hasher);
    hasher.build_settings(build);
    packed.hash = hasher.digest();
    return packed;
}

}  // namespace mldeploy::deploy
