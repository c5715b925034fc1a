#include "providers/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "provider_test_util.h"
#include "support/http_server.h"
#include "support/temp_dir.h"

namespace dw::providers {
namespace {

using dw::testing::TestHttpRequest;
using dw::testing::TestHttpResponse;
using dw::testing::TestHttpServer;
using testing::MsSince;

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  auto url = ParseUrl("https://api.example.com:8443/v1/chat?x=1");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/v1/chat?x=1");
  EXPECT_EQ(url->Origin(), "https://api.example.com:8443");
}

TEST(ParseUrl, DefaultsPortsAndTarget) {
  EXPECT_EQ(ParseUrl("http://h")->port, 80);
  EXPECT_EQ(ParseUrl("https://h")->port, 443);
  EXPECT_EQ(ParseUrl("http://h")->target, "/");
  EXPECT_EQ(ParseUrl("http://h?q=1")->target, "/?q=1");
}

TEST(ParseUrl, AcceptsBracketedIpv6) {
  auto url = ParseUrl("http://[::1]:9000/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->Origin(), "http://[::1]:9000");
}

TEST(ParseUrl, RejectsUnsupportedForms) {
  for (std::string_view bad : {"ftp://h/", "h/x", "http://", "http://h:0/", "http://h:70000/", "http://u:p@h/",
                               "http://h/a b", "http://h/#frag", "http://h:/"}) {
    auto url = ParseUrl(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().kind, ErrorKind::kInvalidInput);
  }
}

// Runs requests against a client on the test thread.
class HttpClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpClient> MakeClient(HttpClientOptions options = {}) {
    auto client = HttpClient::Create(io_, std::move(options));
    EXPECT_TRUE(client) << client.error().message;
    return std::move(*client);
  }

  // Sends `n` requests one after another (each from the previous one's
  // completion) and returns the responses.
  std::vector<HttpResponse> SendSequentially(HttpClient& client, const std::string& base_url, int n,
                                             int timeout_ms = 5000) {
    auto url = ParseUrl(base_url + "/v1/echo");
    EXPECT_TRUE(url);
    auto origin = client.Origin(*url);
    std::vector<HttpResponse> responses;
    std::function<void()> next = [&] {
      HttpRequest request;
      request.target = url->target;
      request.headers.emplace_back("X-Test", "yes");
      request.body = "{\"n\":" + std::to_string(responses.size()) + "}";
      client.Send(origin, std::move(request),
                  std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms),
                  [&](HttpResponse response) {
                    responses.push_back(std::move(response));
                    if (static_cast<int>(responses.size()) < n) next();
                  });
    };
    next();
    io_.restart();
    io_.run_for(std::chrono::seconds(30));
    EXPECT_EQ(static_cast<int>(responses.size()), n);
    return responses;
  }

  HttpResponse SendOne(HttpClient& client, const std::string& base_url, int timeout_ms = 5000) {
    auto responses = SendSequentially(client, base_url, 1, timeout_ms);
    return responses.empty() ? HttpResponse{} : std::move(responses.front());
  }

  boost::asio::io_context io_;
};

TestHttpResponse Ok(const TestHttpRequest& request) { return TestHttpResponse::Json("{\"echo\":" + request.body + "}"); }

TEST_F(HttpClientTest, SequentialRequestsReuseOneKeepAliveConnection) {
  TestHttpServer server(Ok);
  auto client = MakeClient();
  auto responses = SendSequentially(*client, server.BaseUrl(), 50);
  ASSERT_EQ(responses.size(), 50u);
  for (size_t i = 0; i < responses.size(); ++i) {
    EXPECT_EQ(responses[i].failure, HttpFailure::kNone) << responses[i].failure_detail;
    EXPECT_EQ(responses[i].status, 200);
    EXPECT_EQ(responses[i].body, "{\"echo\":{\"n\":" + std::to_string(i) + "}}");
    EXPECT_EQ(responses[i].reused_connection, i > 0);
  }
  EXPECT_EQ(server.requests(), 50);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client->Stats().connections_opened, 1u);
  EXPECT_EQ(client->Stats().idle_connections, 1u);
}

TEST_F(HttpClientTest, ConcurrentWavesOpenNoMoreConnectionsThanInFlightRequests) {
  TestHttpServer server([](const TestHttpRequest& r) {
    auto response = Ok(r);
    response.delay = std::chrono::milliseconds(20);
    return response;
  });
  auto client = MakeClient();
  auto url = ParseUrl(server.BaseUrl() + "/x");
  auto origin = client->Origin(*url);
  int ok = 0;
  auto wave = [&] {
    for (int i = 0; i < 8; ++i) {
      HttpRequest request;
      request.target = "/x";
      request.body = "{}";
      client->Send(origin, std::move(request), std::chrono::steady_clock::now() + std::chrono::seconds(5),
                   [&](HttpResponse response) { ok += response.status == 200 ? 1 : 0; });
    }
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
  };
  wave();
  wave();
  wave();
  EXPECT_EQ(ok, 24);
  EXPECT_EQ(server.requests(), 24);
  EXPECT_EQ(server.connections(), 8);
  EXPECT_EQ(client->Stats().idle_connections, 8u);
}

TEST_F(HttpClientTest, SendsMethodTargetHostLengthAndHeaders) {
  TestHttpServer server(Ok);
  auto client = MakeClient();
  SendOne(*client, server.BaseUrl());
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/echo");
  EXPECT_EQ(requests[0].headers["host"], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].headers["content-length"], "7");
  EXPECT_EQ(requests[0].headers["x-test"], "yes");
  EXPECT_EQ(requests[0].body, "{\"n\":0}");
}

TEST_F(HttpClientTest, ReturnsStatusHeadersAndBodyOfErrors) {
  TestHttpServer server([](const TestHttpRequest&) {
    auto response = TestHttpResponse::Json("{\"error\":\"slow down\"}", 429);
    response.headers.emplace_back("Retry-After", "7");
    return response;
  });
  auto client = MakeClient();
  auto response = SendOne(*client, server.BaseUrl());
  EXPECT_EQ(response.failure, HttpFailure::kNone);
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.Header("retry-after"), "7");
  EXPECT_EQ(response.body, "{\"error\":\"slow down\"}");
}

TEST_F(HttpClientTest, DeadPooledConnectionIsReplacedTransparently) {
  TestHttpServer server([](const TestHttpRequest& r) {
    auto response = Ok(r);
    response.action = TestHttpResponse::Action::kRespondThenClose;
    return response;
  });
  auto client = MakeClient();
  auto responses = SendSequentially(*client, server.BaseUrl(), 3);
  ASSERT_EQ(responses.size(), 3u);
  for (const auto& response : responses) {
    EXPECT_EQ(response.failure, HttpFailure::kNone) << response.failure_detail;
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.reused_connection);
  }
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(HttpClientTest, ConnectionClosedWithoutAnswerOnAFreshConnectionIsAnIoFailure) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.action = TestHttpResponse::Action::kDrop;
    return response;
  });
  auto client = MakeClient();
  auto response = SendOne(*client, server.BaseUrl());
  EXPECT_EQ(response.failure, HttpFailure::kIo);
  EXPECT_NE(response.failure_detail.find(server.BaseUrl()), std::string::npos) << response.failure_detail;
  EXPECT_EQ(server.requests(), 1);
}

TEST_F(HttpClientTest, GarbageInsteadOfHttpIsAProtocolFailure) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.action = TestHttpResponse::Action::kRaw;
    response.raw = "SMTP ready\r\n\r\n";
    return response;
  });
  auto client = MakeClient();
  EXPECT_EQ(SendOne(*client, server.BaseUrl()).failure, HttpFailure::kProtocol);
}

TEST_F(HttpClientTest, SlowServerHitsTheDeadline) {
  TestHttpServer server([](const TestHttpRequest& r) {
    auto response = Ok(r);
    response.delay = std::chrono::milliseconds(3000);
    return response;
  });
  auto client = MakeClient();
  auto start = std::chrono::steady_clock::now();
  auto response = SendOne(*client, server.BaseUrl(), 150);
  EXPECT_EQ(response.failure, HttpFailure::kTimeout);
  EXPECT_GE(MsSince(start), 140);
  EXPECT_LT(MsSince(start), 2000);
}

TEST_F(HttpClientTest, RefusedConnectionIsAConnectFailure) {
  std::uint16_t port = 0;
  {
    boost::asio::io_context scratch;
    boost::asio::ip::tcp::acceptor acceptor(
        scratch, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  auto client = MakeClient();
  auto response = SendOne(*client, "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(response.failure, HttpFailure::kConnect);
  EXPECT_NE(response.failure_detail.find("refused"), std::string::npos) << response.failure_detail;
}

TEST_F(HttpClientTest, HeaderWithLineBreakIsRejectedBeforeSending) {
  TestHttpServer server(Ok);
  auto client = MakeClient();
  auto url = ParseUrl(server.BaseUrl());
  HttpResponse got;
  HttpRequest request;
  request.headers.emplace_back("X-Evil", "a\r\nInjected: 1");
  client->Send(client->Origin(*url), std::move(request), std::chrono::steady_clock::now() + std::chrono::seconds(5),
               [&](HttpResponse response) { got = std::move(response); });
  io_.run_for(std::chrono::seconds(5));
  EXPECT_EQ(got.failure, HttpFailure::kProtocol);
  EXPECT_EQ(server.requests(), 0);
}

class HttpsClientTest : public HttpClientTest {
 protected:
  HttpClientOptions TrustOnly(const dw::testing::TestPki& pki) {
    HttpClientOptions options;
    options.ca_file = dir_.WriteFile("ca.pem", pki.ca.cert_pem).string();
    return options;
  }

  dw::testing::TempDir dir_;
  dw::testing::TestPki pki_ = dw::testing::MakeTestPki();
};

TEST_F(HttpsClientTest, VerifiedTlsWorksAndKeepsConnectionsAlive) {
  auto cert = pki_.Issue({"localhost"}, {"127.0.0.1"});
  TestHttpServer server(Ok, {cert.cert_pem, cert.key_pem});
  ASSERT_EQ(server.BaseUrl().substr(0, 8), "https://");
  auto client = MakeClient(TrustOnly(pki_));
  auto responses = SendSequentially(*client, server.BaseUrl(), 5);
  ASSERT_EQ(responses.size(), 5u);
  for (const auto& response : responses) {
    EXPECT_EQ(response.failure, HttpFailure::kNone) << response.failure_detail;
    EXPECT_EQ(response.status, 200);
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpsClientTest, CertificateFromAnUntrustedCaFailsVerification) {
  auto other_ca = dw::testing::MakeTestPki("some other CA");
  auto cert = other_ca.Issue({"localhost"}, {"127.0.0.1"});
  TestHttpServer server(Ok, {cert.cert_pem, cert.key_pem});
  auto client = MakeClient(TrustOnly(pki_));
  auto response = SendOne(*client, server.BaseUrl());
  EXPECT_EQ(response.failure, HttpFailure::kTlsVerify);
  EXPECT_NE(response.failure_detail.find("certificate"), std::string::npos) << response.failure_detail;
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpsClientTest, CertificateForAnotherHostFailsVerification) {
  auto cert = pki_.Issue({"other.example"}, {});
  TestHttpServer server(Ok, {cert.cert_pem, cert.key_pem});
  auto client = MakeClient(TrustOnly(pki_));
  auto response = SendOne(*client, server.BaseUrl());
  EXPECT_EQ(response.failure, HttpFailure::kTlsVerify);
  EXPECT_NE(response.failure_detail.find("mismatch"), std::string::npos) << response.failure_detail;
}

TEST_F(HttpsClientTest, VerificationCanBeTurnedOff) {
  auto other_ca = dw::testing::MakeTestPki("some other CA");
  auto cert = other_ca.Issue({"other.example"}, {});
  TestHttpServer server(Ok, {cert.cert_pem, cert.key_pem});
  HttpClientOptions options;
  options.verify_tls = false;
  auto client = MakeClient(options);
  EXPECT_EQ(SendOne(*client, server.BaseUrl()).status, 200);
}

TEST_F(HttpsClientTest, UnreadableCaFileIsInvalidInput) {
  HttpClientOptions options;
  options.ca_file = (dir_.path() / "missing.pem").string();
  auto client = HttpClient::Create(io_, options);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(client.error().message.find("missing.pem"), std::string::npos);
}

}  // namespace
}  // namespace dw::providers
