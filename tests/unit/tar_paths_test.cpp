// The build context tar (issue 5): what mldeploy sends the engine of a build
// context holds only what is under the context folder. A symbolic link goes as a
// link, with its target as text, never as what it points at; .dockerignore
// patterns and kept names only choose among the context's own entries. A context
// folder that is itself a link is packed from where it points (the user named it).
#include "util/tar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using mldeploy::util::read_dockerignore;
using mldeploy::util::tar_directory;

namespace {

struct Entry {
    char type = '?';      // 'f' file, 'd' folder, 'l' link
    std::string content;  // a file's bytes or a link's target
};

std::map<std::string, Entry> entries_of(const std::string& tar) {
    std::map<std::string, Entry> entries;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
    archive_entry* entry = nullptr;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        Entry e;
        const auto type = archive_entry_filetype(entry);
        e.type = type == AE_IFDIR ? 'd' : type == AE_IFLNK ? 'l' : type == AE_IFREG ? 'f' : '?';
        if (e.type == 'l') e.content = archive_entry_symlink(entry);
        if (e.type == 'f') {
            e.content.resize(static_cast<std::size_t>(archive_entry_size(entry)));
            if (!e.content.empty()) archive_read_data(a, e.content.data(), e.content.size());
        }
        // Hard links would name another entry's path; the walker never writes them.
        CHECK(archive_entry_hardlink(entry) == nullptr);
        std::string path = archive_entry_pathname(entry);
        if (path.ends_with("/")) path.pop_back();
        entries[path] = e;
    }
    archive_read_free(a);
    return entries;
}

std::string file_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every entry is a relative path without "..", names something that is under
// `context` on disk without following a link on the way, and is that thing: a file
// with the same bytes, a folder, or a link with the same target text.
void check_all_inside(const std::map<std::string, Entry>& entries, const fs::path& context) {
    for (const auto& [path, entry] : entries) {
        CAPTURE(path);
        REQUIRE_FALSE(path.empty());
        CHECK(path.front() != '/');
        for (const auto& part : fs::path(path)) CHECK(part != "..");
        // Every folder on the way is a real folder of the context, not a link.
        fs::path on_disk = context;
        for (const auto& part : fs::path(path).parent_path()) {
            on_disk /= part;
            CHECK(fs::is_directory(fs::symlink_status(on_disk)));
        }
        on_disk = context / path;
        const auto status = fs::symlink_status(on_disk);
        switch (entry.type) {
            case 'f':
                CHECK(fs::is_regular_file(status));
                CHECK(entry.content == file_text(on_disk));
                break;
            case 'd':
                CHECK(fs::is_directory(status));
                break;
            case 'l':
                CHECK(fs::is_symlink(status));
                CHECK(entry.content == fs::read_symlink(on_disk).string());
                break;
            default:
                FAIL("an entry that is neither a file, a folder nor a link");
        }
    }
}

class Tree {
public:
    Tree() {
        std::string pattern = (fs::temp_directory_path() / "mldeploy-tar-paths-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        root_ = fs::canonical(pattern);
    }
    ~Tree() {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;

    const fs::path& root() const { return root_; }
    void write(const fs::path& relative, const std::string& content) const {
        fs::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative, std::ios::binary) << content;
    }
    void link(const fs::path& relative, const fs::path& target) const {
        fs::create_directories((root_ / relative).parent_path());
        fs::create_symlink(target, root_ / relative);
    }

private:
    fs::path root_;
};

constexpr std::string_view secret = "TOP SECRET, outside the context\n";

// root/secret, root/outside/{key.pem,sub/more}: outside the context root/ctx, which
// holds a Dockerfile, app/main.py and links that point out in every way a link can.
void make_context_with_links_out(const Tree& tree) {
    tree.write("secret", std::string(secret));
    tree.write("outside/key.pem", std::string(secret));
    tree.write("outside/sub/more", std::string(secret));
    tree.write("ctx/Dockerfile", "FROM scratch\nCOPY . /app\n");
    tree.write("ctx/app/main.py", "print('in the context')\n");
    tree.link("ctx/passwd", "/etc/passwd");               // absolute, to a file
    tree.link("ctx/up-secret", "../secret");              // relative, to a file
    tree.link("ctx/app/deep-secret", "../../secret");     // relative, from a sub folder
    tree.link("ctx/abs-secret", tree.root() / "secret");  // absolute, to a file
    tree.link("ctx/outside", "../outside");               // relative, to a folder
    tree.link("ctx/etc", "/etc");                         // absolute, to a folder
    tree.link("ctx/root", "/");                           // the whole machine
    tree.link("ctx/loop", "loop");                        // a link to itself
    tree.link("ctx/dangling", "../no-such-file");         // to nothing
}

}  // namespace

TEST_SUITE("tar: the build context stays in its folder") {
    TEST_CASE("links that point out of the context go as links, never as what they point at") {
        Tree tree;
        make_context_with_links_out(tree);
        const fs::path context = tree.root() / "ctx";
        const auto entries = entries_of(tar_directory(context, {}));
        check_all_inside(entries, context);
        const std::map<std::string, std::string> links{{"passwd", "/etc/passwd"},
                                                       {"up-secret", "../secret"},
                                                       {"app/deep-secret", "../../secret"},
                                                       {"abs-secret", (tree.root() / "secret").string()},
                                                       {"outside", "../outside"},
                                                       {"etc", "/etc"},
                                                       {"root", "/"},
                                                       {"loop", "loop"},
                                                       {"dangling", "../no-such-file"}};
        for (const auto& [path, target] : links) {
            CAPTURE(path);
            REQUIRE(entries.count(path) == 1);
            CHECK(entries.at(path).type == 'l');
            CHECK(entries.at(path).content == target);
        }
        // Nothing under a linked folder, and no file holds what lies outside.
        for (const auto& [path, entry] : entries) {
            CAPTURE(path);
            CHECK_FALSE(path.starts_with("outside/"));
            CHECK_FALSE(path.starts_with("etc/"));
            CHECK_FALSE(path.starts_with("root/"));
            if (entry.type == 'f') CHECK(entry.content.find("TOP SECRET") == std::string::npos);
        }
        CHECK(entries.size() == 3 + links.size());  // Dockerfile, app, app/main.py and the links
    }

    TEST_CASE("a Dockerfile that is a link out goes as a link, even when it must always be sent") {
        Tree tree;
        make_context_with_links_out(tree);
        const fs::path context = tree.root() / "ctx";
        fs::remove(context / "Dockerfile");
        tree.link("ctx/Dockerfile", "../secret");
        tree.link("ctx/build/Containerfile", tree.root() / "secret");
        const auto entries = entries_of(tar_directory(context, {"*"}, {"build/Containerfile"}));
        check_all_inside(entries, context);
        CHECK(entries.at("Dockerfile").type == 'l');
        CHECK(entries.at("Dockerfile").content == "../secret");
        CHECK(entries.at("build/Containerfile").type == 'l');
        CHECK(entries.at("build/Containerfile").content == (tree.root() / "secret").string());
    }

    TEST_CASE(".dockerignore patterns and kept names cannot pull in anything outside") {
        Tree tree;
        make_context_with_links_out(tree);
        const fs::path context = tree.root() / "ctx";
        // Re-includes that name outside things in every spelling, after excluding all.
        tree.write("ctx/.dockerignore",
                   "*\n!../secret\n!/../secret\n!../outside/**\n!**/../secret\n!/etc/passwd\n!etc/passwd\n"
                   "!outside/key.pem\n!outside/**\n!root/etc/passwd\n!" +
                       (tree.root() / "secret").string() + "\n");
        const std::vector<std::string> patterns = read_dockerignore(context);
        for (const auto& keep : std::vector<std::vector<std::string>>{
                 {}, {"../secret", "/etc/passwd", "outside/key.pem", "etc/passwd", "../../../../etc/passwd"}}) {
            const auto entries = entries_of(tar_directory(context, patterns, keep));
            check_all_inside(entries, context);
            // Only what is always sent, and nothing through the links.
            std::vector<std::string> paths;
            for (const auto& [path, entry] : entries) paths.push_back(path);
            CHECK(paths == std::vector<std::string>{".dockerignore", "Dockerfile"});
        }
        // Without the exclusion, the links themselves come along, still as links.
        const auto entries = entries_of(tar_directory(context, {"!../secret", "!outside/key.pem"}));
        check_all_inside(entries, context);
        CHECK(entries.at("outside").type == 'l');
        CHECK(entries.count("outside/key.pem") == 0);
    }

    TEST_CASE("a context folder that is itself a link is packed from where it points") {
        Tree tree;
        make_context_with_links_out(tree);
        tree.link("project/ctx", "../ctx");
        const fs::path real = tree.root() / "ctx";
        const fs::path linked = tree.root() / "project" / "ctx";
        // The same archive, byte for byte: the links inside are still links.
        CHECK(tar_directory(linked, {}) == tar_directory(real, {}));
        const auto entries = entries_of(tar_directory(linked, {}));
        check_all_inside(entries, real);
        CHECK(entries.at("up-secret").type == 'l');
    }

    TEST_CASE("a fifo in the context is left out, and packing does not wait on it") {
        Tree tree;
        tree.write("ctx/Dockerfile", "FROM scratch\n");
        REQUIRE(::mkfifo((tree.root() / "ctx" / "pipe").c_str(), 0600) == 0);
        const auto entries = entries_of(tar_directory(tree.root() / "ctx", {}));
        CHECK(entries.count("pipe") == 0);
        CHECK(entries.count("Dockerfile") == 1);
    }
    TEST_CASE("a file or folder swapped for a link while it is packed is never followed") {
        // The walker looks at an entry, then opens it; another process may swap it for
        // a link in between. This swaps "file" and "dir" for links out, and back, as
        // fast as it can while the context is packed over and over: an archive may
        // hold either, or packing may stop with "changed while being packed", but no
        // archive may hold what the links point at. A race: a walker that follows
        // links fails this in some runs, not in every one.
        Tree tree;
        const std::string payload(64, 'x');
        tree.write("secret", std::string(secret) + std::string(payload.size() - secret.size(), '!'));
        tree.write("outside/inner", std::string(secret));
        tree.write("ctx/Dockerfile", "FROM scratch\n");
        tree.write("ctx/file", payload);
        tree.write("ctx/dir/inner", "in the context\n");
        const fs::path ctx = tree.root() / "ctx";
        const fs::path stage = tree.root() / "stage";
        fs::create_directories(stage);
        std::atomic<bool> stop{false};
        std::thread swapper([&] {
            // rename() replaces atomically; only "dir" is missing for a moment.
            while (!stop.load()) {
                fs::create_symlink(tree.root() / "secret", stage / "file-link");
                fs::create_symlink(tree.root() / "outside", stage / "dir-link");
                std::rename((ctx / "file").c_str(), (stage / "file-real").c_str());
                std::rename((stage / "file-link").c_str(), (ctx / "file").c_str());
                std::rename((ctx / "dir").c_str(), (stage / "dir-real").c_str());
                std::rename((stage / "dir-link").c_str(), (ctx / "dir").c_str());
                std::this_thread::yield();
                std::rename((stage / "file-real").c_str(), (ctx / "file").c_str());
                fs::remove(ctx / "dir");  // a folder cannot be renamed over a link
                std::rename((stage / "dir-real").c_str(), (ctx / "dir").c_str());
            }
        });
        int packed = 0;
        int changed = 0;
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        while (std::chrono::steady_clock::now() < until) {
            try {
                const auto entries = entries_of(tar_directory(ctx, {}));
                ++packed;
                for (const auto& [path, entry] : entries) {
                    CAPTURE(path);
                    CHECK(entry.content.find("TOP SECRET") == std::string::npos);
                    if (path.starts_with("dir/")) CHECK(entry.content == "in the context\n");
                }
            } catch (const std::runtime_error& e) {
                // Listed, then gone or swapped before it was opened (or read as a link).
                const std::string what = e.what();
                CAPTURE(what);
                bool expected = false;
                for (const char* reason : {"changed while being packed", "No such file", "Not a directory",
                                           "Too many levels of symbolic links", "Invalid argument"})
                    expected = expected || what.find(reason) != std::string::npos;
                CHECK(expected);
                ++changed;
            }
        }
        stop = true;
        swapper.join();
        MESSAGE("packed ", packed, " times, stopped by a swap ", changed, " times");
        CHECK(packed + changed > 0);
    }
}
