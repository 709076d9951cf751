// A build context as the engine gets it: the folder walked in a stable order,
// with .dockerignore applied as Docker applies it. One walk feeds both the tar
// that is sent and the hash that an image records, so the two never disagree
// on which files the context holds.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::util {

// What a walk hands over, entry by entry. Paths are relative to the context,
// '/'-separated; `mode` is the permission bits (07777).
class ContextSink {
public:
    virtual ~ContextSink() = default;
    virtual void directory(const std::string& path, unsigned mode, std::time_t mtime) = 0;
    virtual void symlink(const std::string& path, const std::string& target, std::time_t mtime) = 0;
    // A regular file: begin, its bytes in pieces (exactly `size` in all), end.
    virtual void file_begin(const std::string& path, std::int64_t size, unsigned mode, std::time_t mtime) = 0;
    virtual void file_data(std::string_view piece) = 0;
    virtual void file_end() = 0;
};

// Walks everything under `dir`: folders, regular files and symbolic links (not
// followed); sockets, fifos and devices are left out. Entries come sorted by
// name per folder, a folder before what it holds. Paths excluded by
// `dockerignore_patterns` are left out, but never "Dockerfile", ".dockerignore"
// or any of `always_include` (e.g. a Dockerfile of another name).
// Throws std::runtime_error naming the file that could not be read.
void walk_context(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                  const std::vector<std::string>& always_include, ContextSink& sink);

// Hands every entry to both sinks, in order.
class TeeSink : public ContextSink {
public:
    TeeSink(ContextSink& first, ContextSink& second) : first_(first), second_(second) {}
    void directory(const std::string& path, unsigned mode, std::time_t mtime) override;
    void symlink(const std::string& path, const std::string& target, std::time_t mtime) override;
    void file_begin(const std::string& path, std::int64_t size, unsigned mode, std::time_t mtime) override;
    void file_data(std::string_view piece) override;
    void file_end() override;

private:
    ContextSink& first_;
    ContextSink& second_;
};

}  // namespace mldeploy::util
