#include "core/template.h"

#include <gtest/gtest.h>

namespace dw {
namespace {

TEST(RenderTemplate, SubstitutesStringsVerbatimAndOtherValuesAsJson) {
  auto vars = nlohmann::json::parse(R"({"q":"why?","n":3,"o":{"a":[1,"x"]}})");
  auto out = RenderTemplate("Q: {{q}} n={{ n }} a1={{o.a.1}} o={{o}}", vars);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, R"(Q: why? n=3 a1=x o={"a":[1,"x"]})");
}

TEST(RenderTemplate, UnknownVariableIsAnErrorNamingIt) {
  auto out = RenderTemplate("hello {{missing}}", nlohmann::json::object());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(out.error().message.find("{{missing}}"), std::string::npos);
}

TEST(RenderTemplate, UnclosedBracesAreAnError) {
  EXPECT_FALSE(RenderTemplate("a {{b", nlohmann::json::object()));
}

TEST(TemplateVariables, ListsEachNameOnceInOrder) {
  EXPECT_EQ(TemplateVariables("{{b}} {{ a }} {{b}}"), (std::vector<std::string>{"b", "a"}));
}

}  // namespace
}  // namespace dw
