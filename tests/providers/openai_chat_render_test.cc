#include <gtest/gtest.h>

#include "core/hash.h"
#include "providers/openai_chat.h"

namespace dw::providers {
namespace {

using nlohmann::json;

config::TargetConfig Target() {
  config::TargetConfig target;
  target.name = "t";
  target.provider = "openai-chat";
  target.model = "gpt-test";
  target.prompt = "Capital of {{country}}?";
  target.params = json{{"temperature", 0}, {"max_tokens", 64}, {"seed", 7}};
  return target;
}

TEST(ChatRequestRenderer, RendersThePromptAsOneUserMessageInCanonicalJson) {
  auto renderer = ChatRequestRenderer::Create(Target());
  ASSERT_TRUE(renderer);
  auto body = renderer->Render(json{{"country", "France"}});
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            R"({"max_tokens":64,"messages":[{"content":"Capital of France?","role":"user"}],"model":"gpt-test",)"
            R"("seed":7,"temperature":0})");
  EXPECT_EQ(*body, CanonicalJson(json::parse(*body)));
}

TEST(ChatRequestRenderer, RendersMessageTemplatesAndKeepsParams) {
  auto target = Target();
  target.messages = json::parse(R"([{"role":"system","content":"Be brief."},
                                    {"role":"user","content":"Capital of {{country}}?"}])");
  target.params["response_format"] = json{{"type", "json_object"}};
  target.params["tools"] = json::array({json{{"type", "function"}, {"function", {{"name", "f"}}}}});
  auto renderer = ChatRequestRenderer::Create(target);
  ASSERT_TRUE(renderer);
  EXPECT_TRUE(renderer->json_mode());
  EXPECT_EQ(renderer->max_tokens(), 64);
  auto body = renderer->Render(json{{"country", "Peru"}});
  ASSERT_TRUE(body);
  json parsed = json::parse(*body);
  EXPECT_EQ(parsed["messages"][1]["content"], "Capital of Peru?");
  EXPECT_EQ(parsed["messages"][0]["content"], "Be brief.");
  EXPECT_EQ(parsed["response_format"]["type"], "json_object");
  EXPECT_EQ(parsed["tools"][0]["function"]["name"], "f");
  EXPECT_EQ(*body, CanonicalJson(parsed));
}

TEST(ChatRequestRenderer, FixedPromptNeedsNoVars) {
  auto target = Target();
  target.prompt = "Say hi";
  target.params = json::object();
  auto renderer = ChatRequestRenderer::Create(target);
  ASSERT_TRUE(renderer);
  EXPECT_EQ(*renderer->Render(json::object()),
            R"({"messages":[{"content":"Say hi","role":"user"}],"model":"gpt-test"})");
}

TEST(ChatRequestRenderer, MissingVarIsAnError) {
  auto renderer = ChatRequestRenderer::Create(Target());
  ASSERT_TRUE(renderer);
  auto body = renderer->Render(json::object());
  ASSERT_FALSE(body);
  EXPECT_NE(body.error().message.find("country"), std::string::npos);
}

TEST(ChatRequestRenderer, RejectsStreamingAndReservedParams) {
  auto target = Target();
  target.params["stream"] = true;
  EXPECT_FALSE(ChatRequestRenderer::Create(target));
  target = Target();
  target.params["model"] = "other";
  EXPECT_FALSE(ChatRequestRenderer::Create(target));
  target = Target();
  target.prompt.clear();
  EXPECT_FALSE(ChatRequestRenderer::Create(target));
}

TEST(ParseChatCompletion, ExtractsIdentityAnswerAndUsage) {
  auto parsed = ParseChatCompletion(R"({
    "id":"chatcmpl-1","model":"gpt-test-0613","system_fingerprint":"fp_abc",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Paris","refusal":null},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,
             "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":1}}})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, "chatcmpl-1");
  EXPECT_EQ(parsed->model, "gpt-test-0613");
  EXPECT_EQ(parsed->system_fingerprint, "fp_abc");
  EXPECT_EQ(parsed->choice.content, "Paris");
  EXPECT_FALSE(parsed->choice.refusal.has_value());
  EXPECT_EQ(parsed->choice.finish_reason, "stop");
  EXPECT_TRUE(parsed->has_usage);
  EXPECT_EQ(parsed->prompt_tokens, 12);
  EXPECT_EQ(parsed->completion_tokens, 3);
  EXPECT_EQ(parsed->cached_tokens, 4);
  EXPECT_EQ(parsed->reasoning_tokens, 1);
}

TEST(ParseChatCompletion, UsageCountsThatAreNegativeOrHugeCountAsZero) {
  auto parsed = ParseChatCompletion(
      R"({"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":1e300,"completion_tokens":-5}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->has_usage);
  EXPECT_EQ(parsed->prompt_tokens, 0);
  EXPECT_EQ(parsed->completion_tokens, 0);
}

TEST(ParseChatCompletion, DeeplyNestedBodyIsAnErrorNotACrash) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  auto parsed = ParseChatCompletion(R"({"choices":[{"message":{"content":"x","tool_calls":)" + deep + "}}]}");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "the response body is not JSON: nested deeper than 512 levels");
}

TEST(ParseChatCompletion, KeepsToolCallsAsCanonicalJson) {
  auto parsed = ParseChatCompletion(R"({"choices":[{"message":{"content":null,
    "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
    "finish_reason":"tool_calls"}]})");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->choice.has_tool_calls);
  EXPECT_FALSE(parsed->choice.content.has_value());
  EXPECT_EQ(parsed->tool_calls, R"([{"function":{"arguments":"{}","name":"f"},"id":"c1","type":"function"}])");
}

TEST(ParseChatCompletion, RejectsBodiesThatAreNotCompletions) {
  EXPECT_FALSE(ParseChatCompletion("<html>bad gateway</html>"));
  EXPECT_FALSE(ParseChatCompletion(R"({"error":{"message":"boom"}})"));
  EXPECT_FALSE(ParseChatCompletion(R"({"choices":[]})"));
  EXPECT_FALSE(ParseChatCompletion(R"({"choices":[{"text":"legacy"}]})"));
}

}  // namespace
}  // namespace dw::providers
