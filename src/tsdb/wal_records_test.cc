#include "tsdb/wal_records.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace argus::tsdb {
namespace {

TEST(WalRecordsTest, SeriesRoundTrip) {
  std::vector<RefSeries> in = {
      {1, Labels::FromMap({{"__name__", "up"}, {"job", "node"}})},
      {uint64_t{1} << 50, Labels::FromMap({{"__name__", "x"}, {"k", std::string(300, 'v')}})}};
  std::string rec;
  EncodeSeriesRecord(in, &rec);
  EXPECT_EQ(*WalRecordTypeOf(rec), WalRecordType::kSeries);
  std::vector<RefSeries> out;
  ASSERT_TRUE(DecodeSeriesRecord(rec, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ref, 1u);
  EXPECT_EQ(out[0].labels, in[0].labels);
  EXPECT_EQ(out[1].ref, in[1].ref);
  EXPECT_EQ(out[1].labels, in[1].labels);
}

TEST(WalRecordsTest, SamplesRoundTripAndExactBytes) {
  // The worked example of docs/format/head.md.
  std::string rec;
  EncodeSamplesRecord({{1, 1000, 1.0}, {2, 1015, -2.5}}, &rec);
  const std::string want(
      "\x02"
      "\xd0\x0f"                                     // base 1000
      "\x01\x00\x00\x00\x00\x00\x00\x00\xf0\x3f"     // ref 1, +0, 1.0
      "\x02\x1e\x00\x00\x00\x00\x00\x00\x04\xc0",    // ref 2, +15, -2.5
      23);
  EXPECT_EQ(rec, want);

  const int64_t big = std::numeric_limits<int64_t>::max();
  std::vector<RefSample> in = {{7, 5, 1},
                               {8, -big, StaleNaN()},
                               {9, big, std::numeric_limits<double>::infinity()},
                               {10, 0, -0.0}};
  rec.clear();
  EncodeSamplesRecord(in, &rec);
  std::vector<RefSample> out;
  ASSERT_TRUE(DecodeSamplesRecord(rec, &out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].ref, in[i].ref);
    EXPECT_EQ(out[i].t_ms, in[i].t_ms);
    EXPECT_EQ(DoubleBits(out[i].v), DoubleBits(in[i].v));
  }
}

TEST(WalRecordsTest, ExemplarsAndMetadataRoundTrip) {
  std::string rec;
  EncodeExemplarsRecord({{3, Exemplar{Labels::FromMap({{"trace_id", "abc"}}), 0.25, -7}}}, &rec);
  std::vector<RefExemplar> ex;
  ASSERT_TRUE(DecodeExemplarsRecord(rec, &ex).ok());
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].ref, 3u);
  EXPECT_EQ(ex[0].exemplar.labels.Get("trace_id"), "abc");
  EXPECT_EQ(ex[0].exemplar.value, 0.25);
  EXPECT_EQ(ex[0].exemplar.t_ms, -7);

  rec.clear();
  EncodeMetadataRecord({{"http_requests_total", MetricType::kCounter, "Requests.", ""},
                        {"temp", MetricType::kGauge, "", "celsius"}},
                       &rec);
  std::vector<MetricMetadata> md;
  ASSERT_TRUE(DecodeMetadataRecord(rec, &md).ok());
  ASSERT_EQ(md.size(), 2u);
  EXPECT_EQ(md[0].metric_family, "http_requests_total");
  EXPECT_EQ(md[0].type, MetricType::kCounter);
  EXPECT_EQ(md[0].help, "Requests.");
  EXPECT_EQ(md[1].unit, "celsius");
}

TEST(WalRecordsTest, MalformedRecordsAreCorruption) {
  EXPECT_EQ(WalRecordTypeOf("").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(WalRecordTypeOf("\x09").status().code(), StatusCode::kCorruption);
  std::vector<std::string> recs(4);
  EncodeSeriesRecord({{1, Labels::FromMap({{"__name__", "up"}, {"job", "node"}})}}, &recs[0]);
  EncodeSamplesRecord({{1, 1000, 1.0}, {2, 2000, 2.0}}, &recs[1]);
  EncodeExemplarsRecord({{3, Exemplar{Labels::FromMap({{"a", "b"}}), 1, 2}}}, &recs[2]);
  EncodeMetadataRecord({{"m", MetricType::kGauge, "help", "unit"}}, &recs[3]);
  // Every strict prefix longer than the type byte (and the samples base) fails to decode.
  for (size_t k = 0; k < recs.size(); ++k) {
    const std::string& full = recs[k];
    for (size_t len = 0; len < full.size(); ++len) {
      std::string cut = full.substr(0, len);
      std::vector<RefSeries> s;
      std::vector<RefSample> sm;
      std::vector<RefExemplar> e;
      std::vector<MetricMetadata> m;
      Status st;
      switch (k) {
        case 0: st = DecodeSeriesRecord(cut, &s); break;
        case 1: st = DecodeSamplesRecord(cut, &sm); break;
        case 2: st = DecodeExemplarsRecord(cut, &e); break;
        case 3: st = DecodeMetadataRecord(cut, &m); break;
      }
      // A cut exactly after the type byte is an empty (valid) record, except for samples
      // which need their base time; cuts at an entry boundary are valid shorter records.
      const bool boundary = (k != 1 && len == 1) || (k == 1 && (len == 3 || len == 13));
      if (!boundary) {
        EXPECT_EQ(st.code(), StatusCode::kCorruption) << "record " << k << " len " << len;
      }
    }
  }
  // Wrong type byte for the decoder.
  std::vector<RefSample> sm;
  EXPECT_EQ(DecodeSamplesRecord(recs[0], &sm).code(), StatusCode::kCorruption);
  // A metric type out of range.
  std::string bad = recs[3];
  bad[3] = 100;
  std::vector<MetricMetadata> m;
  EXPECT_EQ(DecodeMetadataRecord(bad, &m).code(), StatusCode::kCorruption);
  // Duplicate label names.
  std::string dup("\x01\x01\x02\x01" "a" "\x01" "b" "\x01" "a" "\x01" "c", 11);
  std::vector<RefSeries> s;
  EXPECT_EQ(DecodeSeriesRecord(dup, &s).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace argus::tsdb
