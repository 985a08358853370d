#include "logql/template.h"

#include <gtest/gtest.h>

namespace argus::logql {
namespace {

std::string Render(const std::string& t, std::string_view line = "the line", int64_t ts = 0) {
  LineLabels l(Labels::FromMap({{"app", "web"}, {"status", "200"}, {"msg", "Hello World"}}));
  auto p = Template::Parse("line", t);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return "<parse error>";
  auto r = (*p)->Execute(l, line, ts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "<exec error>";
}

TEST(TemplateTest, FieldsPipelinesAndFunctions) {
  EXPECT_EQ(Render("{{.app}}:{{.missing}}"), "web:");
  EXPECT_EQ(Render("{{ .msg | lower | replace \"world\" \"there\" }}"), "hello there");
  EXPECT_EQ(Render("{{ .status | int | add 1 }}"), "201");
  EXPECT_EQ(Render("{{ printf \"%s=%d\" .app 7 }}"), "web=7");
  EXPECT_EQ(Render("{{ __line__ | trunc 3 | upper }}"), "THE");
  EXPECT_EQ(Render("{{ .missing | default \"none\" }}"), "none");
  EXPECT_EQ(Render("{{ regexReplaceAll \"(W)orld\" .msg \"${1}ide\" }}"), "Hello Wide");
  EXPECT_EQ(Render("{{ alignRight 5 .app }}|{{ alignLeft 2 .app }}"), "  web|we");
  EXPECT_EQ(Render("{{ b64enc .app }} {{ b64dec \"d2Vi\" }}"), "d2Vi web");
}

TEST(TemplateTest, IfElseAndTrimMarkers) {
  EXPECT_EQ(Render("{{ if eq .status \"200\" }}ok{{ else if eq .status \"500\" }}bad{{ else }}?{{ end }}"), "ok");
  EXPECT_EQ(Render("a  {{- .app -}}  b"), "awebb");
  EXPECT_EQ(Render("{{ if .missing }}x{{ end }}y"), "y");
}

TEST(TemplateTest, TimeFunctions) {
  EXPECT_EQ(Render("{{ __timestamp__ | date \"2006-01-02T15:04:05.000Z07:00\" }}", "", 1'700'000'000'123'000'000),
            "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(Render("{{ __timestamp__ | unixEpoch }}", "", 1'700'000'000'123'000'000), "1700000000");
}

TEST(TemplateTest, ParseErrorsUseGoMessages) {
  auto a = Template::Parse("line", "{{ nosuchfunc }}");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("function \"nosuchfunc\" not defined"), std::string::npos);
  auto b = Template::Parse("label", "{{");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("unclosed action"), std::string::npos);
  EXPECT_FALSE(Template::Parse("line", "{{ if .a }}x").ok());
  EXPECT_FALSE(Template::Parse("line", "{{ end }}").ok());
}

}  // namespace
}  // namespace argus::logql
