#include "ingest/relabel.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace argus::ingest {
namespace {

RelabelConfig Make(RelabelAction action, std::vector<std::string> source_labels,
                   std::string regex = "(.*)", std::string target_label = "",
                   std::string replacement = "$1") {
  RelabelConfig c;
  c.action = action;
  c.source_labels = std::move(source_labels);
  c.regex = std::move(regex);
  c.target_label = std::move(target_label);
  c.replacement = std::move(replacement);
  return c;
}

RelabelConfig Compiled(RelabelConfig c) {
  Status st = c.Compile();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return c;
}

const Labels kInput = Labels::FromMap({{"__name__", "http_requests_total"},
                                       {"__address__", "10.0.0.1:9100"},
                                       {"job", "node"},
                                       {"env", "Prod"},
                                       {"__meta_kubernetes_pod_label_app", "api"},
                                       {"__meta_kubernetes_pod_label_team", "core"}});

TEST(RelabelTest, ReplaceWithGroupsAndDefaults) {
  // Default regex (.*) and replacement $1 copy the joined source values.
  auto out = Relabel(kInput, {Compiled(Make(RelabelAction::kReplace, {"job", "env"}, "(.*)", "combo"))});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->Get("combo"), "node;Prod");

  RelabelConfig c = Make(RelabelAction::kReplace, {"__address__"}, "([^:]+):(\\d+)", "host", "${1}-port$2");
  out = Relabel(kInput, {Compiled(c)});
  EXPECT_EQ(out->Get("host"), "10.0.0.1-port9100");

  // Regexes are anchored: a partial match does not count, so nothing changes.
  out = Relabel(kInput, {Compiled(Make(RelabelAction::kReplace, {"job"}, "od", "x", "y"))});
  EXPECT_FALSE(out->Has("x"));

  // An empty replacement result deletes the target label.
  out = Relabel(kInput, {Compiled(Make(RelabelAction::kReplace, {"nonexistent"}, "(.*)", "env"))});
  EXPECT_FALSE(out->Has("env"));

  // Custom separator.
  RelabelConfig sep = Make(RelabelAction::kReplace, {"job", "env"}, "(.*)", "joined");
  sep.separator = "/";
  EXPECT_EQ(Relabel(kInput, {Compiled(sep)})->Get("joined"), "node/Prod");

  // Templated target label.
  out = Relabel(kInput, {Compiled(Make(RelabelAction::kReplace, {"env"}, "(\\w+)", "env_$1", "yes"))});
  EXPECT_EQ(out->Get("env_Prod"), "yes");

  // Named groups.
  out = Relabel(kInput, {Compiled(Make(RelabelAction::kReplace, {"__address__"},
                                       "(?P<ip>[0-9.]+):(?P<port>\\d+)", "ipport", "$port@$ip"))});
  EXPECT_EQ(out->Get("ipport"), "9100@10.0.0.1");
}

TEST(RelabelTest, ExpandTemplateFollowsGo) {
  RE2 re("^(?:(a)(b)?(?P<name>c))$");
  std::vector<std::string_view> groups = {"ac", "a", {}, "c"};
  EXPECT_EQ(ExpandTemplate("$1", re, groups), "a");
  EXPECT_EQ(ExpandTemplate("${1}x", re, groups), "ax");
  EXPECT_EQ(ExpandTemplate("$1x", re, groups), "");  // group "1x" does not exist
  EXPECT_EQ(ExpandTemplate("$2", re, groups), "");   // unmatched group
  EXPECT_EQ(ExpandTemplate("$name-${name}", re, groups), "c-c");
  EXPECT_EQ(ExpandTemplate("$$1", re, groups), "$1");
  EXPECT_EQ(ExpandTemplate("$9", re, groups), "");
  EXPECT_EQ(ExpandTemplate("${1", re, groups), "${1");  // malformed: literal
  EXPECT_EQ(ExpandTemplate("cost $", re, groups), "cost $");
  EXPECT_EQ(ExpandTemplate("$01", re, groups), "");  // leading zero: a name, not a number
  EXPECT_EQ(ExpandTemplate("plain", re, groups), "plain");
}

TEST(RelabelTest, KeepAndDrop) {
  auto keep = Compiled(Make(RelabelAction::kKeep, {"job"}, "node|api"));
  EXPECT_TRUE(Relabel(kInput, {keep}).has_value());
  auto keep_no = Compiled(Make(RelabelAction::kKeep, {"job"}, "nod"));
  EXPECT_FALSE(Relabel(kInput, {keep_no}).has_value());
  auto drop = Compiled(Make(RelabelAction::kDrop, {"__name__"}, "http_.*"));
  EXPECT_FALSE(Relabel(kInput, {drop}).has_value());
  auto drop_no = Compiled(Make(RelabelAction::kDrop, {"__name__"}, "go_.*"));
  EXPECT_EQ(Relabel(kInput, {drop_no}), kInput);
  // Later rules do not run after a drop.
  auto add = Compiled(Make(RelabelAction::kReplace, {"job"}, "(.*)", "seen"));
  EXPECT_FALSE(Relabel(kInput, {drop, add}).has_value());
}

TEST(RelabelTest, KeepEqualAndDropEqual) {
  Labels ls = Labels::FromMap({{"__name__", "m"}, {"a", "x"}, {"b", "x"}, {"c", "y"}});
  EXPECT_TRUE(Relabel(ls, {Compiled(Make(RelabelAction::kKeepEqual, {"a"}, "(.*)", "b"))}).has_value());
  EXPECT_FALSE(Relabel(ls, {Compiled(Make(RelabelAction::kKeepEqual, {"a"}, "(.*)", "c"))}).has_value());
  EXPECT_FALSE(Relabel(ls, {Compiled(Make(RelabelAction::kDropEqual, {"a"}, "(.*)", "b"))}).has_value());
  EXPECT_TRUE(Relabel(ls, {Compiled(Make(RelabelAction::kDropEqual, {"a"}, "(.*)", "c"))}).has_value());
}

TEST(RelabelTest, HashMod) {
  // Expected values from an independent MD5 (Python's hashlib): last 8 bytes, big-endian.
  RelabelConfig c = Make(RelabelAction::kHashMod, {"c"}, "(.*)", "d");
  c.modulus = 1000;
  Labels ls = Labels::FromMap({{"a", "foo"}, {"b", "bar"}, {"c", "baz"}});
  EXPECT_EQ(Relabel(ls, {Compiled(c)})->Get("d"), "976");

  RelabelConfig shard = Make(RelabelAction::kHashMod, {"__address__"}, "(.*)", "__tmp_shard");
  shard.modulus = 4;
  Labels t = Labels::FromMap({{"__address__", "localhost:9100"}});
  EXPECT_EQ(Relabel(t, {Compiled(shard)})->Get("__tmp_shard"), "3");
}

TEST(RelabelTest, Md5MatchesRfc1321) {
  auto hex = [](const std::string& d) {
    static const char* k = "0123456789abcdef";
    std::string out;
    for (unsigned char c : d) {
      out.push_back(k[c >> 4]);
      out.push_back(k[c & 15]);
    }
    return out;
  };
  EXPECT_EQ(hex(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(Md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex(Md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890")),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(RelabelTest, LabelMap) {
  RelabelConfig c = Make(RelabelAction::kLabelMap, {}, "__meta_kubernetes_pod_label_(.+)", "", "k8s_$1");
  auto out = Relabel(kInput, {Compiled(c)});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->Get("k8s_app"), "api");
  EXPECT_EQ(out->Get("k8s_team"), "core");
  EXPECT_EQ(out->Get("__meta_kubernetes_pod_label_app"), "api");  // the source stays
  EXPECT_EQ(out->size(), kInput.size() + 2);
}

TEST(RelabelTest, LabelDropAndKeep) {
  auto drop = Compiled(Make(RelabelAction::kLabelDrop, {}, "__meta_.*"));
  auto out = Relabel(kInput, {drop});
  EXPECT_EQ(*out, Labels::FromMap({{"__name__", "http_requests_total"},
                                   {"__address__", "10.0.0.1:9100"},
                                   {"job", "node"},
                                   {"env", "Prod"}}));
  auto keep = Compiled(Make(RelabelAction::kLabelKeep, {}, "__name__|job"));
  EXPECT_EQ(*Relabel(kInput, {keep}),
            Labels::FromMap({{"__name__", "http_requests_total"}, {"job", "node"}}));
}

TEST(RelabelTest, LowercaseUppercase) {
  auto lower = Compiled(Make(RelabelAction::kLowercase, {"env", "job"}, "(.*)", "env_lower"));
  EXPECT_EQ(Relabel(kInput, {lower})->Get("env_lower"), "prod;node");
  auto upper = Compiled(Make(RelabelAction::kUppercase, {"env"}, "(.*)", "env"));
  EXPECT_EQ(Relabel(kInput, {upper})->Get("env"), "PROD");
}

TEST(RelabelTest, RulesApplyInOrder) {
  std::vector<RelabelConfig> cfgs = {
      Compiled(Make(RelabelAction::kReplace, {"__address__"}, "(.*):\\d+", "host")),
      Compiled(Make(RelabelAction::kUppercase, {"host", "env"}, "(.*)", "host_upper")),
      Compiled(Make(RelabelAction::kLabelDrop, {}, "__meta_.*|env")),
  };
  auto out = Relabel(kInput, cfgs);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->Get("host"), "10.0.0.1");
  EXPECT_EQ(out->Get("host_upper"), "10.0.0.1;PROD");  // saw the first rule's output
  EXPECT_FALSE(out->Has("env"));
  EXPECT_FALSE(out->Has("__meta_kubernetes_pod_label_app"));
}

TEST(RelabelTest, DotMatchesNewline) {
  Labels ls = Labels::FromMap({{"msg", "two\nlines"}});
  auto keep = Compiled(Make(RelabelAction::kKeep, {"msg"}, "two.lines"));
  EXPECT_TRUE(Relabel(ls, {keep}).has_value());
}

TEST(RelabelTest, ValidationErrors) {
  struct Case {
    RelabelConfig c;
    std::string fragment;
  };
  RelabelConfig hm = Make(RelabelAction::kHashMod, {"a"}, "(.*)", "t");
  RelabelConfig ld = Make(RelabelAction::kLabelDrop, {"a"}, "x");
  RelabelConfig ke = Make(RelabelAction::kKeepEqual, {"a"}, "x", "b");
  RelabelConfig lc = Make(RelabelAction::kLowercase, {"a"}, "(.*)", "b", "z");
  std::vector<Case> cases = {
      {Make(RelabelAction::kReplace, {"a"}), "requires 'target_label'"},
      {hm, "non-zero modulus"},
      {ld, "requires only 'regex'"},
      {ke, "requires only 'source_labels' and 'target_label'"},
      {lc, "'replacement' can not be set"},
      {Make(RelabelAction::kKeep, {"a"}, "(unclosed"), "invalid 'regex'"},
      {Make(RelabelAction::kUppercase, {"a"}, "(.*)", "$1"), "invalid 'target_label'"},
      {Make(RelabelAction::kReplace, {"a"}, "(.*)", "bad\xff"), "invalid 'target_label'"},
  };
  for (Case& k : cases) {
    Status st = k.c.Compile();
    ASSERT_FALSE(st.ok()) << k.fragment;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find(k.fragment), std::string::npos) << st.message();
  }
}

TEST(RelabelTest, ActionNames) {
  EXPECT_EQ(*ParseRelabelAction("Replace"), RelabelAction::kReplace);
  EXPECT_EQ(*ParseRelabelAction("hashmod"), RelabelAction::kHashMod);
  EXPECT_EQ(*ParseRelabelAction("LABELMAP"), RelabelAction::kLabelMap);
  EXPECT_FALSE(ParseRelabelAction("rename").ok());
  for (RelabelAction a : {RelabelAction::kKeepEqual, RelabelAction::kDropEqual,
                          RelabelAction::kLowercase, RelabelAction::kLabelKeep}) {
    EXPECT_EQ(*ParseRelabelAction(RelabelActionName(a)), a);
  }
}

}  // namespace
}  // namespace argus::ingest
