#include "engine/http.hpp"

#include "util/curl.hpp"

#include <spdlog/spdlog.h>

#include <curl/curl.h>
#include <sys/stat.h>

#include <cctype>
#include <exception>
#include <string>
#include <unordered_map>

namespace mldeploy::engine {

namespace {

std::atomic<const std::atomic<bool>*> g_cancel_flag{nullptr};

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

std::string percent_encode(std::string_view value, std::string_view also_keep) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(value.size());
    for (char ch : value) {
        auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || also_keep.find(ch) != std::string_view::npos) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0F];
        }
    }
    return out;
}

// One easy handle per thread and socket. `busy` guards against a sink that calls
// the engine again from inside a transfer on the same thread: that call gets a
// handle of its own instead of re-entering curl on a handle in use.
struct Slot {
    util::CurlEasy easy;
    bool busy = false;
};

Slot& thread_slot(const std::string& socket_path) {
    thread_local std::unordered_map<std::string, Slot> slots;
    auto it = slots.find(socket_path);
    if (it == slots.end()) {
        it = slots.emplace(socket_path, Slot{}).first;
    }
    return it->second;
}

struct Transfer {
    CURL* curl = nullptr;
    const ChunkSink* sink = nullptr;
    long status = -1;  // read once the first piece of the body arrives
    std::string body;
    std::map<std::string, std::string> headers;
    std::exception_ptr sink_error;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t length = size * count;
    std::string_view line(data, length);
    if (line.starts_with("HTTP/")) {
        t->headers.clear();  // a new response (after a 100 Continue, say)
        return length;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
        return length;
    }
    std::string name(line.substr(0, colon));
    for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
    }
    t->headers[name] = std::string(value);
    return length;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t length = size * count;
    if (t->sink != nullptr) {
        if (t->status < 0) {
            long code = 0;
            curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
            t->status = code;
        }
        if (t->status >= 200 && t->status < 300) {
            try {
                (*t->sink)(std::string_view(data, length));
            } catch (...) {
                t->sink_error = std::current_exception();
                return 0;  // makes curl stop with CURLE_WRITE_ERROR
            }
            return length;
        }
    }
    t->body.append(data, length);
    return length;
}

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const std::atomic<bool>* flag = g_cancel_flag.load();
    return (flag != nullptr && flag->load()) ? 1 : 0;
}

class BusyGuard {
public:
    explicit BusyGuard(bool& busy) : busy_(busy) { busy_ = true; }
    ~BusyGuard() { busy_ = false; }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;

private:
    bool& busy_;
};

}  // namespace

std::string url_encode(std::string_view value) { return percent_encode(value, ""); }

std::string url_encode_path(std::string_view value) { return percent_encode(value, ":@/"); }

Query& Query::add(std::string_view key, std::string_view value) {
    text_ += text_.empty() ? '?' : '&';
    text_ += url_encode(key);
    text_ += '=';
    text_ += url_encode(value);
    return *this;
}

std::string Query::str() const { return text_; }

void set_http_cancel_flag(const std::atomic<bool>* flag) { g_cancel_flag.store(flag); }

bool socket_owned_by_user(const std::string& socket_path) {
    struct stat st {};
    return ::stat(socket_path.c_str(), &st) == 0 && st.st_uid != 0;
}

UnixHttpClient::UnixHttpClient(std::string socket_path) : socket_path_(std::move(socket_path)) {
    util::curl_global_init_once();
}

HttpResponse UnixHttpClient::request(std::string_view method, std::string_view path_with_query, std::string_view body,
                                     std::string_view content_type, std::chrono::seconds timeout) const {
    return perform(method, path_with_query, body, content_type, timeout, nullptr);
}

HttpResponse UnixHttpClient::stream(std::string_view method, std::string_view path_with_query, std::string_view body,
                                    std::string_view content_type, const ChunkSink& sink,
                                    const std::vector<std::string>& headers) const {
    return perform(method, path_with_query, body, content_type, std::chrono::seconds{0}, &sink, headers);
}

HttpResponse UnixHttpClient::perform(std::string_view method, std::string_view path_with_query, std::string_view body,
                                     std::string_view content_type, std::chrono::seconds timeout, const ChunkSink* sink,
                                     const std::vector<std::string>& extra_headers) const {
    Slot& slot = thread_slot(socket_path_);
    std::optional<util::CurlEasy> own;  // only for a call made from inside another transfer
    bool own_busy = false;
    CURL* curl = nullptr;
    if (slot.busy) {
        own.emplace();
        curl = own->get();
    } else {
        slot.easy.reset_options();  // keeps the open connection
        curl = slot.easy.get();
    }
    BusyGuard guard(own ? own_busy : slot.busy);

    const std::string url = "http://d" + std::string(path_with_query);
    const std::string method_text(method);
    char error_buffer[CURL_ERROR_SIZE] = {};
    Transfer transfer;
    transfer.curl = curl;
    transfer.sink = sink;

    util::CurlSlist headers;
    headers.append("Expect:");  // no 100-continue round trip before large bodies
    if (!content_type.empty()) {
        headers.append("Content-Type: " + std::string(content_type));
    }
    for (const auto& h : extra_headers) headers.append(h);

    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count() * 1000));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() * 1000));  // 0 = none
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);

    const char* body_data = body.data() != nullptr ? body.data() : "";
    if (method_text == "GET") {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (method_text == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
        if (method_text != "POST") {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
        }
        if (method_text == "POST" || method_text == "PUT" || !body.empty()) {
            curl_easy_setopt(curl, CURLOPT_POST, 1L);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body_data);
        }
    }

    // The handle outlives this call: forget the pointers into this frame once done.
    struct Detach {
        CURL* handle;
        ~Detach() {
            curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
            curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
            curl_easy_setopt(handle, CURLOPT_WRITEDATA, nullptr);
            curl_easy_setopt(handle, CURLOPT_HEADERDATA, nullptr);
            curl_easy_setopt(handle, CURLOPT_POSTFIELDS, nullptr);
        }
    } detach{curl};

    const auto started = std::chrono::steady_clock::now();
    const CURLcode code = curl_easy_perform(curl);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

    if (transfer.sink_error) {
        spdlog::debug("{} {} -> stopped by the receiver after {} ms", method_text, path_with_query, elapsed.count());
        std::rethrow_exception(transfer.sink_error);
    }

    HttpResponse response;
    if (code != CURLE_OK) {
        TransportError error;
        error.curl_code = static_cast<int>(code);
        if (code == CURLE_ABORTED_BY_CALLBACK) {
            error.message = "interrupted";
        } else {
            error.message = error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
        }
        spdlog::debug("{} {} -> transport error {} ({}) after {} ms", method_text, path_with_query, error.curl_code,
                      error.message, elapsed.count());
        response.transport_error = std::move(error);
        return response;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    long new_connections = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &new_connections);
    response.status = static_cast<int>(status);
    response.body = std::move(transfer.body);
    response.headers = std::move(transfer.headers);
    spdlog::debug("{} {} -> {} ({} ms{})", method_text, path_with_query, response.status, elapsed.count(),
                  new_connections > 0 ? ", new connection" : "");
    return response;
}

}  // namespace mldeploy::engine
