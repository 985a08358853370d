#include "tracestore/block.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tracestore/test_util.h"

namespace argus::tracestore {
namespace {

using testing::Id;
using testing::OneSpan;

std::string TempDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/tracestore_block_" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

TEST(BlockTest, WriterStreamsPagesAndRefusesOutOfOrderIds) {
  std::string parent = TempDir("writer");
  std::string dir = parent + "/b";
  auto w = BlockWriter::Create(dir, 3000);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // Enough spans for several pages; each page reaches the data file as it fills.
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE((*w)->Add(Id(i), OneSpan(Id(i), 1, -1, "svc", "op", 1000 + i, 2000 + i).SerializeAsString()).ok());
  }
  EXPECT_GT(std::filesystem::file_size(dir + ".tmp/data"), 0u);
  Status same = (*w)->Add(Id(2999), OneSpan(Id(2999), 2, 1, "svc", "op", 1, 2).SerializeAsString());
  EXPECT_EQ(same.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->Add("short", "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->Add(Id(3000), "").code(), StatusCode::kInternal);  // finished: refused, no crash
  EXPECT_EQ((*w)->Finish().code(), StatusCode::kInternal);
  auto b = Block::Open(dir);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->num_traces(), 3000u);
  EXPECT_GT((*b)->num_pages(), 3u);
  for (int i : {0, 1234, 2999}) {
    auto t = (*b)->FindTrace(Id(i));
    ASSERT_TRUE(t.ok() && t->has_value()) << i;
  }
  // A writer dropped before Finish leaves nothing behind.
  {
    auto dropped = BlockWriter::Create(parent + "/c", 1);
    ASSERT_TRUE(dropped.ok());
    ASSERT_TRUE((*dropped)->Add(Id(1), OneSpan(Id(1), 1, -1, "svc", "op", 1, 2).SerializeAsString()).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(parent + "/c"));
  EXPECT_FALSE(std::filesystem::exists(parent + "/c.tmp"));
}

TEST(BlockTest, WriteFindAndColumns) {
  std::string dir = TempDir("find") + "/b";
  std::vector<BlockTrace> traces;
  for (int i = 9; i >= 0; --i) {  // unsorted on purpose
    BlockTrace t;
    t.trace_id = Id(i);
    t.traces_data = OneSpan(Id(i), 1, -1, "svc" + std::to_string(i % 2), "root", 1000 + i, 2000 + i)
                        .SerializeAsString();
    traces.push_back(std::move(t));
  }
  // A second fragment of trace 3 is merged into it.
  traces.push_back({Id(3), OneSpan(Id(3), 2, 1, "svc1", "child", 1500, 1600).SerializeAsString()});
  ASSERT_TRUE(WriteBlock(dir, std::move(traces), 7).ok());
  auto b = Block::Open(dir);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->num_traces(), 10u);
  EXPECT_EQ((*b)->meta().spans, 11u);
  EXPECT_EQ((*b)->meta().wal_segment, 7u);
  EXPECT_EQ((*b)->meta().min_time_unix_nano, 1000u);
  EXPECT_EQ((*b)->meta().max_time_unix_nano, 2009u);
  auto t3 = (*b)->FindTrace(Id(3));
  ASSERT_TRUE(t3.ok() && t3->has_value());
  opentelemetry::proto::trace::v1::TracesData td;
  ASSERT_TRUE(td.ParseFromString(**t3));
  EXPECT_EQ(td.resource_spans_size(), 2);
  auto none = (*b)->FindTrace(Id(42));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // Sorted by ID: trace 0 is ordinal 0; the index keeps each trace's root.
  const Dictionary& d = (*b)->dict();
  EXPECT_EQ(d.Str((*b)->Entry(0).root_service), "svc0");
  EXPECT_EQ(d.Str((*b)->Entry(3).root_name), "root");
  EXPECT_EQ((*b)->Entry(3).spans, 2u);
  ASSERT_EQ((*b)->num_pages(), 1u);
  auto page = (*b)->OpenPage(0);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  int64_t key = d.Find("http.status_code");
  ASSERT_GE(key, 0);
  auto col = (*page)->Attribute(static_cast<uint32_t>(key));
  ASSERT_TRUE(col.ok());
  ASSERT_EQ(col->size(), 11u);  // every span has it
  EXPECT_EQ((*col)[0].type, ValueType::kInt);
  EXPECT_EQ(static_cast<int64_t>((*col)[0].bits), 200);
  EXPECT_EQ(d.Find("no such string"), -1);
}

TEST(BlockTest, CorruptFilesAreDetected) {
  std::string dir = TempDir("corrupt") + "/b";
  ASSERT_TRUE(WriteBlock(dir, {{Id(1), OneSpan(Id(1), 1, -1, "s", "n", 1, 2).SerializeAsString()}}).ok());
  for (std::string file : {"index", "pages", "dict", "bloom"}) {
    std::string path = dir + "/" + file;
    std::string orig;
    {
      std::ifstream in(path, std::ios::binary);
      orig.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string bad = orig;
    bad[bad.size() / 2] ^= 0x40;
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << bad; }
    EXPECT_EQ(Block::Open(dir).status().code(), StatusCode::kCorruption) << file;
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << orig.substr(0, 10); }
    EXPECT_EQ(Block::Open(dir).status().code(), StatusCode::kCorruption) << file;
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << orig; }
  }
  // Flipped data bytes fail the page checksum on read.
  {
    std::fstream f(dir + "/data", std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(3);
    f.put('\x55');
  }
  auto b = Block::Open(dir);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->FindTrace(Id(1)).status().code(), StatusCode::kCorruption);
  std::filesystem::remove(dir + "/meta.json");
  EXPECT_EQ(Block::Open(dir).status().code(), StatusCode::kNotFound);
}

TEST(BlockTest, RejectsBadInput) {
  std::string dir = TempDir("bad") + "/b";
  EXPECT_EQ(WriteBlock(dir, {{"short", ""}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteBlock(dir, {{Id(1), "\xff\xff\xff"}}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace argus::tracestore
