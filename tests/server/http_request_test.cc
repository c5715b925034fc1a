#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "server/http_server.h"

namespace dw::server {
namespace {

using ::testing::HasSubstr;

HttpServerOptions Limits(std::size_t header_bytes, std::size_t body_bytes) {
  HttpServerOptions options;
  options.max_header_bytes = header_bytes;
  options.max_body_bytes = body_bytes;
  return options;
}

TEST(ParseHttpRequest, ReadsMethodTargetLowerCasedHeadersAndBody) {
  auto parsed = ParseHttpRequest(
      "POST /api/v1/runs?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nX-Tag: one\r\nx-tag: two\r\n"
      "Content-Length: 2\r\n\r\n{}",
      HttpServerOptions());
  ASSERT_TRUE(parsed.request) << parsed.error.body;
  EXPECT_EQ(parsed.request->method, "POST");
  EXPECT_EQ(parsed.request->target, "/api/v1/runs?x=1");
  EXPECT_EQ(parsed.request->headers.at("content-type"), "application/json");
  EXPECT_EQ(parsed.request->headers.at("x-tag"), "one, two");
  EXPECT_EQ(parsed.request->body, "{}");
  EXPECT_TRUE(parsed.keep_alive);
}

TEST(ParseHttpRequest, ReadsAChunkedBody) {
  auto parsed = ParseHttpRequest(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      HttpServerOptions());
  ASSERT_TRUE(parsed.request) << parsed.error.body;
  EXPECT_EQ(parsed.request->body, "abcde");
}

TEST(ParseHttpRequest, BodyAboveTheLimitIs413NamingTheLimit) {
  auto parsed =
      ParseHttpRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n0123456789a", Limits(4096, 10));
  ASSERT_FALSE(parsed.request);
  EXPECT_EQ(parsed.error.status, 413);
  EXPECT_THAT(parsed.error.body, HasSubstr("the request body exceeds 10 bytes"));
}

TEST(ParseHttpRequest, HeadersAboveTheLimitAre431) {
  auto parsed =
      ParseHttpRequest("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(200, 'x') + "\r\n\r\n", Limits(128, 10));
  ASSERT_FALSE(parsed.request);
  EXPECT_EQ(parsed.error.status, 431);
  EXPECT_THAT(parsed.error.body, HasSubstr("headers_too_large"));
}

TEST(ParseHttpRequest, TruncatedRequestIs400) {
  auto parsed = ParseHttpRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", HttpServerOptions());
  ASSERT_FALSE(parsed.request);
  EXPECT_EQ(parsed.error.status, 400);
  EXPECT_THAT(parsed.error.body, HasSubstr("malformed HTTP request"));
}

// Found by fuzz_http_api: Beast asserts when told of an end of file before
// any byte arrived.
TEST(ParseHttpRequest, EmptyInputIs400) {
  auto parsed = ParseHttpRequest("", HttpServerOptions());
  ASSERT_FALSE(parsed.request);
  EXPECT_EQ(parsed.error.status, 400);
  EXPECT_THAT(parsed.error.body, HasSubstr("malformed HTTP request"));
}

TEST(ParseHttpRequest, GarbageIs400) {
  auto parsed = ParseHttpRequest("\x01\x02 not http\r\n\r\n", HttpServerOptions());
  ASSERT_FALSE(parsed.request);
  EXPECT_EQ(parsed.error.status, 400);
}

}  // namespace
}  // namespace dw::server
