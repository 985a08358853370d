#include "api/dashboard_api.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/file.h"

namespace argus::api {
namespace {

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("argus-dash-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    return DashboardApi((dir_ / "dashboards").string()).Handle(req);
  }

  std::filesystem::path dir_;
};

TEST_F(DashboardApiTest, EmptyListWithoutDirectory) {
  HttpResponse r = Call("GET", "/api/argus/v1/dashboards");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"success","data":[]})");
}

TEST_F(DashboardApiTest, PutGetListDelete) {
  const std::string json = R"({"title":"Host","tags":["node","linux"],"panels":[{"type":"stat"}]})";
  HttpResponse put = Call("PUT", "/api/argus/v1/dashboards/host-1", json);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.body, R"({"status":"success","data":{"uid":"host-1"}})");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dashboards" / "host-1.json"));

  HttpResponse get = Call("GET", "/api/argus/v1/dashboards/host-1");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, R"({"status":"success","data":)" + json + "}");

  ASSERT_EQ(Call("PUT", "/api/argus/v1/dashboards/a", R"({"title":"Alpha"})").status, 200);
  HttpResponse list = Call("GET", "/api/argus/v1/dashboards");
  EXPECT_EQ(list.body, R"({"status":"success","data":[{"uid":"a","title":"Alpha","tags":[]},)"
                       R"({"uid":"host-1","title":"Host","tags":["node","linux"]}]})");

  EXPECT_EQ(Call("DELETE", "/api/argus/v1/dashboards/host-1").status, 200);
  EXPECT_EQ(Call("GET", "/api/argus/v1/dashboards/host-1").status, 404);
  EXPECT_EQ(Call("DELETE", "/api/argus/v1/dashboards/host-1").status, 404);
}

TEST_F(DashboardApiTest, PutReplacesAtomically) {
  ASSERT_EQ(Call("PUT", "/api/argus/v1/dashboards/x", R"({"title":"one"})").status, 200);
  ASSERT_EQ(Call("PUT", "/api/argus/v1/dashboards/x", R"({"title":"two"})").status, 200);
  auto stored = ReadFile((dir_ / "dashboards" / "x.json").string());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, R"({"title":"two"})");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dashboards" / "x.json.tmp"));
}

TEST_F(DashboardApiTest, RejectsBadInput) {
  HttpResponse r = Call("PUT", "/api/argus/v1/dashboards/x", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"errorType\":\"bad_data\""), std::string::npos);
  EXPECT_NE(r.body.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(Call("PUT", "/api/argus/v1/dashboards/x", "[1,2]").status, 400);
  EXPECT_EQ(
      Call("PUT", "/api/argus/v1/dashboards/x", std::string(kMaxDashboardBytes + 1, ' ')).status,
      400);
  // Path traversal and odd names are refused before touching the disk.
  EXPECT_EQ(Call("PUT", "/api/argus/v1/dashboards/..%2Fetc", "{}").status, 400);
  EXPECT_EQ(Call("GET", "/api/argus/v1/dashboards/../x").status, 400);
  EXPECT_EQ(Call("PUT", "/api/argus/v1/dashboards/" + std::string(65, 'a'), "{}").status, 400);
  EXPECT_EQ(Call("POST", "/api/argus/v1/dashboards", "{}").status, 405);
  EXPECT_EQ(Call("PATCH", "/api/argus/v1/dashboards/x", "{}").status, 405);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dashboards" / "x.json"));
}

TEST(DashboardUid, Valid) {
  EXPECT_TRUE(DashboardApi::ValidUid("argus-self_1"));
  EXPECT_FALSE(DashboardApi::ValidUid(""));
  EXPECT_FALSE(DashboardApi::ValidUid("a/b"));
  EXPECT_FALSE(DashboardApi::ValidUid("a.json"));
}

}  // namespace
}  // namespace argus::api
