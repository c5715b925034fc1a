#include "support/http_server.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace dw::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

class TestHttpServer::Impl {
 public:
  Impl(TestHttpHandler handler, const TestHttpServerOptions& options)
      : acceptor_(io_), handler_(std::move(handler)) {
    if (!options.cert_pem.empty() && !options.key_pem.empty()) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(options.cert_pem));
      tls_->use_private_key(asio::buffer(options.key_pem), ssl::context::pem);
    }
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_.has_value(); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

  std::vector<TestHttpRequest> Requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return log_;
  }

  TestHttpResponse Handle(TestHttpRequest request) {
    ++requests_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.push_back(request);
    }
    try {
      return handler_(request);
    } catch (const std::exception& e) {
      return TestHttpResponse::Json(std::string("{\"error\":{\"message\":\"test handler threw: ") + e.what() + "\"}}",
                                    500);
    }
  }

 private:
  void Accept();

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_;
  TestHttpHandler handler_;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::vector<TestHttpRequest> log_;
  std::thread thread_;
};

namespace {

// One accepted connection; Stream is beast::tcp_stream or an ssl_stream of it.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(TestHttpServer::Impl* server, int index, Args&&... args)
      : server_(server), index_(index), stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()) {}

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      Read();
    } else {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->Close();
        self->Read();
      });
    }
  }

 private:
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    TestHttpRequest seen;
    seen.method = std::string(request_.method_string());
    seen.target = std::string(request_.target());
    for (const auto& field : request_) {
      auto name = field.name_string();
      auto value = field.value();
      seen.headers[Lower(std::string_view(name.data(), name.size()))] = std::string(value.data(), value.size());
    }
    seen.body = request_.body();
    seen.connection = index_;
    seen.index_on_connection = served_++;
    seen.received_at = std::chrono::steady_clock::now();
    response_ = server_->Handle(std::move(seen));
    if (response_.delay.count() > 0) {
      timer_.expires_after(response_.delay);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
        if (wait_ec) return self->Close();
        self->Act();
      });
      return;
    }
    Act();
  }

  void Act() {
    using Action = TestHttpResponse::Action;
    switch (response_.action) {
      case Action::kDrop:
        return Close();
      case Action::kRaw:
        asio::async_write(stream_, asio::buffer(response_.raw),
                          [self = this->shared_from_this()](beast::error_code, std::size_t) { self->Close(); });
        return;
      case Action::kReset:
        return Reset();
      case Action::kDrip:
        if (response_.raw.empty()) {
          BuildReply();
          reply_.keep_alive(false);  // the connection closes after the last piece
          std::ostringstream serialized;
          serialized << reply_;
          response_.raw = serialized.str();
        }
        drip_offset_ = 0;
        return Drip();
      case Action::kRespond:
      case Action::kRespondThenClose:
        break;
    }
    BuildReply();
    bool close_after = response_.action == Action::kRespondThenClose || !response_.keep_alive;
    http::async_write(stream_, reply_,
                      [self = this->shared_from_this(), close_after](beast::error_code ec, std::size_t) {
                        if (ec || close_after) return self->Close();
                        self->Read();
                      });
  }

  void Drip() {
    if (drip_offset_ >= response_.raw.size()) return Close();
    std::size_t size = std::min(std::max<std::size_t>(response_.drip_bytes, 1), response_.raw.size() - drip_offset_);
    asio::async_write(stream_, asio::buffer(response_.raw.data() + drip_offset_, size),
                      [self = this->shared_from_this(), size](beast::error_code ec, std::size_t) {
                        if (ec) return self->Close();
                        self->drip_offset_ += size;
                        self->timer_.expires_after(self->response_.drip_interval);
                        self->timer_.async_wait([self](beast::error_code wait_ec) {
                          if (wait_ec) return self->Close();
                          self->Drip();
                        });
                      });
  }

  void BuildReply() {
    reply_ = {};
    reply_.version(11);
    reply_.result(static_cast<unsigned>(response_.status));
    bool has_content_type = false;
    for (const auto& [name, value] : response_.headers) {
      has_content_type = has_content_type || Lower(name) == "content-type";
      reply_.insert(name, value);
    }
    if (!has_content_type && !response_.content_type.empty())
      reply_.set(http::field::content_type, response_.content_type);
    reply_.body() = std::move(response_.body);
    reply_.keep_alive(response_.keep_alive);
    reply_.prepare_payload();
  }

  // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
  void Reset() {
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.set_option(asio::socket_base::linger(true, 0), ec);
    socket.close(ec);
    timer_.cancel();
  }

  void Close() {
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    timer_.cancel();
  }

  TestHttpServer::Impl* server_;
  int index_;
  int served_ = 0;
  Stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  TestHttpResponse response_;
  http::response<http::string_body> reply_;
  std::size_t drip_offset_ = 0;
};

}  // namespace

void TestHttpServer::Impl::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    socket.set_option(tcp::no_delay(true), ec);
    int index = connections_++;
    if (tls_) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(this, index, std::move(socket), *tls_)->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(this, index, std::move(socket))->Start();
    }
    Accept();
  });
}

TestHttpServer::TestHttpServer(TestHttpHandler handler, TestHttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), options)) {}

TestHttpServer::~TestHttpServer() = default;

std::uint16_t TestHttpServer::port() const { return impl_->port(); }

std::string TestHttpServer::BaseUrl() const {
  return std::string(impl_->tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port());
}

int TestHttpServer::connections() const { return impl_->connections(); }
int TestHttpServer::requests() const { return impl_->requests(); }
std::vector<TestHttpRequest> TestHttpServer::Requests() const { return impl_->Requests(); }

namespace {

[[noreturn]] void Throw(const char* what) { throw std::runtime_error(std::string("test PKI: ") + what); }

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

KeyPtr NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) Throw("EC key generation failed");
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) Throw("key PEM");
  return BioText(bio.get());
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) Throw("certificate PEM");
  return BioText(bio.get());
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) Throw("extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

CertPtr NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer) {
  static std::atomic<long> serial{1000};
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return cert;
}

void Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) Throw("signing failed");
}

CertPtr CertFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) Throw("reading CA certificate");
  return cert;
}

KeyPtr KeyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) Throw("reading CA key");
  return key;
}

}  // namespace

TestPki MakeTestPki(const std::string& common_name) {
  KeyPtr key = NewKey();
  CertPtr cert = NewCert(key.get(), common_name, nullptr);
  AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  Sign(cert.get(), key.get());
  TestPki pki;
  pki.ca.cert_pem = CertPem(cert.get());
  pki.ca.key_pem = KeyPem(key.get());
  return pki;
}

TestCertificate TestPki::Issue(const std::vector<std::string>& dns_names,
                               const std::vector<std::string>& ip_addresses) const {
  CertPtr ca_cert = CertFromPem(ca.cert_pem);
  KeyPtr ca_key = KeyFromPem(ca.key_pem);
  KeyPtr key = NewKey();
  std::string common_name = !dns_names.empty()      ? dns_names.front()
                            : !ip_addresses.empty() ? ip_addresses.front()
                                                    : "server";
  CertPtr cert = NewCert(key.get(), common_name, ca_cert.get());
  std::string san;
  for (const auto& dns : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth");
  if (!san.empty()) AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san);
  Sign(cert.get(), ca_key.get());
  return TestCertificate{CertPem(cert.get()), KeyPem(key.get())};
}

}  // namespace dw::testing
