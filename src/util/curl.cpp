#include "util/curl.hpp"

#include <openssl/crypto.h>

#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>

namespace mldeploy::util {

void curl_global_init_once() {
    static std::once_flag once;
    static CURLcode result = CURLE_OK;
    std::call_once(once, [] {
        // curl_global_init initialises OpenSSL, which by default reads
        // openssl.cnf and loads its error strings: 1.7M and 0.9M instructions,
        // about 1 ms of every command. mldeploy speaks no TLS (unix sockets,
        // plain-HTTP probes) and uses OpenSSL only for SHA-256, which needs
        // neither; OpenSSL initialises once, so asking first without them
        // holds for curl's call too.
        OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, nullptr);
        result = curl_global_init(CURL_GLOBAL_DEFAULT);
    });
    if (result != CURLE_OK) {
        throw std::runtime_error(std::string("curl_global_init failed: ") + curl_easy_strerror(result));
    }
}

CurlEasy::CurlEasy() {
    curl_global_init_once();
    handle_ = curl_easy_init();
    if (handle_ == nullptr) {
        throw std::runtime_error("curl_easy_init failed");
    }
}

CurlEasy::~CurlEasy() {
    if (handle_ != nullptr) {
        curl_easy_cleanup(handle_);
    }
}

CurlEasy::CurlEasy(CurlEasy&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

CurlEasy& CurlEasy::operator=(CurlEasy&& other) noexcept {
    if (this != &other) {
        if (handle_ != nullptr) {
            curl_easy_cleanup(handle_);
        }
        handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
}

void CurlEasy::reset_options() {
    if (handle_ != nullptr) {
        curl_easy_reset(handle_);
    }
}

CurlMulti::CurlMulti() {
    curl_global_init_once();
    handle_ = curl_multi_init();
    if (handle_ == nullptr) {
        throw std::runtime_error("curl_multi_init failed");
    }
}

CurlMulti::~CurlMulti() {
    if (handle_ != nullptr) {
        curl_multi_cleanup(handle_);
    }
}

CurlMulti::CurlMulti(CurlMulti&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

CurlMulti& CurlMulti::operator=(CurlMulti&& other) noexcept {
    if (this != &other) {
        if (handle_ != nullptr) {
            curl_multi_cleanup(handle_);
        }
        handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
}

MultiMember::MultiMember(CurlMulti& multi, CurlEasy& easy) : multi_(multi.get()), easy_(easy.get()) {
    if (const CURLMcode rc = curl_multi_add_handle(multi_, easy_); rc != CURLM_OK) {
        throw std::runtime_error(std::string("curl_multi_add_handle failed: ") + curl_multi_strerror(rc));
    }
}

MultiMember::~MultiMember() { leave(); }

MultiMember::MultiMember(MultiMember&& other) noexcept
    : multi_(std::exchange(other.multi_, nullptr)), easy_(std::exchange(other.easy_, nullptr)) {}

MultiMember& MultiMember::operator=(MultiMember&& other) noexcept {
    if (this != &other) {
        leave();
        multi_ = std::exchange(other.multi_, nullptr);
        easy_ = std::exchange(other.easy_, nullptr);
    }
    return *this;
}

void MultiMember::leave() {
    if (multi_ != nullptr && easy_ != nullptr) {
        curl_multi_remove_handle(multi_, easy_);
    }
}

CurlSlist::~CurlSlist() {
    if (list_ != nullptr) {
        curl_slist_free_all(list_);
    }
}

CurlSlist::CurlSlist(CurlSlist&& other) noexcept : list_(std::exchange(other.list_, nullptr)) {}

CurlSlist& CurlSlist::operator=(CurlSlist&& other) noexcept {
    if (this != &other) {
        if (list_ != nullptr) {
            curl_slist_free_all(list_);
        }
        list_ = std::exchange(other.list_, nullptr);
    }
    return *this;
}

void CurlSlist::append(const std::string& line) {
    curl_slist* grown = curl_slist_append(list_, line.c_str());
    if (grown == nullptr) {
        throw std::bad_alloc();
    }
    list_ = grown;
}

}  // namespace mldeploy::util
