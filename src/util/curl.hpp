// Move-only owners of libcurl's C handles: an easy handle, a multi handle (and an
// easy handle's place in one) and a header list.
// curl_global_init runs once per process, before the first handle is made.
#pragma once

#include <curl/curl.h>

#include <string>

namespace mldeploy::util {

// Calls curl_global_init(CURL_GLOBAL_DEFAULT) once (thread-safe); throws
// std::runtime_error if it fails. Every CurlEasy calls it, so explicit calls are
// only needed to initialise early, before any threads start.
void curl_global_init_once();

class CurlEasy {
public:
    CurlEasy();  // a new handle; throws std::runtime_error if curl cannot make one
    ~CurlEasy();
    CurlEasy(CurlEasy&& other) noexcept;
    CurlEasy& operator=(CurlEasy&& other) noexcept;
    CurlEasy(const CurlEasy&) = delete;
    CurlEasy& operator=(const CurlEasy&) = delete;

    CURL* get() const { return handle_; }

    // Forgets every option set so far; keeps live connections (curl_easy_reset).
    void reset_options();

private:
    CURL* handle_ = nullptr;
};

// A multi handle, to run several easy handles at once on one thread. Easy handles
// join it through a MultiMember, which takes them out again before they are freed.
class CurlMulti {
public:
    CurlMulti();  // throws std::runtime_error if curl cannot make one
    ~CurlMulti();
    CurlMulti(CurlMulti&& other) noexcept;
    CurlMulti& operator=(CurlMulti&& other) noexcept;
    CurlMulti(const CurlMulti&) = delete;
    CurlMulti& operator=(const CurlMulti&) = delete;

    CURLM* get() const { return handle_; }

private:
    CURLM* handle_ = nullptr;
};

// An easy handle's place in a multi handle: added when made, removed when
// destroyed (curl needs that before either handle is freed). Make it after both
// handles, so that it goes first.
class MultiMember {
public:
    MultiMember(CurlMulti& multi, CurlEasy& easy);  // throws std::runtime_error if curl refuses
    ~MultiMember();
    MultiMember(MultiMember&& other) noexcept;
    MultiMember& operator=(MultiMember&& other) noexcept;
    MultiMember(const MultiMember&) = delete;
    MultiMember& operator=(const MultiMember&) = delete;

private:
    void leave();

    CURLM* multi_ = nullptr;
    CURL* easy_ = nullptr;
};

class CurlSlist {
public:
    CurlSlist() = default;
    ~CurlSlist();
    CurlSlist(CurlSlist&& other) noexcept;
    CurlSlist& operator=(CurlSlist&& other) noexcept;
    CurlSlist(const CurlSlist&) = delete;
    CurlSlist& operator=(const CurlSlist&) = delete;

    void append(const std::string& line);  // throws std::bad_alloc when curl cannot
    curl_slist* get() const { return list_; }

private:
    curl_slist* list_ = nullptr;
};

}  // namespace mldeploy::util
