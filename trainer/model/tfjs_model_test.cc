#include "trainer/model/tfjs_model.h"

#include <gtest/gtest.h>

#include <cstring>

#include "orchestrator/util/sha256.h"
#include "trainer/test_util.h"

namespace orchard::trainer {
namespace {

using nlohmann::json;

template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

json Weight(const std::string& name, json shape, const std::string& dtype) {
  return {{"name", name}, {"shape", shape}, {"dtype", dtype}};
}

json Quantised(json weight, const std::string& qtype, double min, double scale) {
  weight["quantization"] = {{"dtype", qtype}, {"min", min}, {"scale", scale}};
  return weight;
}

json Model(std::vector<json> weights, std::vector<std::string> paths = {"group1-shard1of1.bin"}) {
  return {
      {"format", "layers-model"},
      {"modelTopology",
       {{"model_config",
         {{"class_name", "Model"},
          {"config", {{"layers", json::array({{{"name", "input_1"}}, {{"name", "Conv1"}}})}}}}}}},
      {"weightsManifest", json::array({{{"paths", paths}, {"weights", weights}}})}};
}

class TfjsModelTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const json& model, const std::string& shard) {
    WriteFile(dir_.path() / "group1-shard1of1.bin", shard);
    return WriteModelJson(model.dump());
  }
  std::filesystem::path WriteModelJson(const std::string& text) {
    WriteFile(dir_.path() / "model.json", text);
    return dir_.path() / "model.json";
  }
  TempFolder dir_;
};

TEST_F(TfjsModelTest, DecodesEveryDtypeAcrossShards) {
  // float16 0x3C00 = 1, 0xC000 = -2, 0x3555 ~ 1/3, 0x7BFF = 65504 (the largest half).
  const std::string a = Bytes<float>({1.5f, -2.25f, 3e-8f}) + Bytes<int32_t>({7, -9});
  const std::string b = Bytes<uint8_t>({0, 1, 255}) + Bytes<uint16_t>({0, 1000, 65535}) +
                        Bytes<uint16_t>({0x3C00, 0xC000, 0x3555, 0x7BFF});
  // The uint8 weight straddles the two shards.
  WriteFile(dir_.path() / "shard1", a + b.substr(0, 2));
  WriteFile(dir_.path() / "shard2", b.substr(2));
  json model = Model({Weight("f", {3}, "float32"), Weight("i", {2, 1}, "int32"),
                      Quantised(Weight("q8", {1, 3}, "float32"), "uint8", -1.0, 0.5),
                      Quantised(Weight("q16", {3}, "float32"), "uint16", 2.0, 0.001),
                      Quantised(Weight("h", {2, 2}, "float32"), "float16", 0, 0)},
                     {"shard1", "shard2"});
  const std::string text = model.dump();
  auto read = ReadTfjsLayersModel(WriteModelJson(text));
  ASSERT_TRUE(read.ok()) << read.status().message();
  const KerasWeights& w = read->weights;
  ASSERT_EQ(w.size(), 5u);
  EXPECT_TRUE(w.at("f").equal(torch::tensor({1.5f, -2.25f, 3e-8f})));
  EXPECT_TRUE(w.at("i").equal(torch::tensor({7, -9}, torch::kInt32).reshape({2, 1})));
  EXPECT_TRUE(w.at("q8").equal(torch::tensor({-1.0f, -0.5f, 126.5f}).reshape({1, 3})));
  // In double, rounded once to float32, as tfjs-core does.
  EXPECT_TRUE(w.at("q16").equal(torch::tensor(
      {2.0f, static_cast<float>(1000 * 0.001 + 2.0), static_cast<float>(65535 * 0.001 + 2.0)})));
  EXPECT_TRUE(w.at("h").allclose(
      torch::tensor({1.0f, -2.0f, 0.33325195f, 65504.0f}).reshape({2, 2}), 0, 0));
  EXPECT_EQ(read->sha256, Sha256Hex(text + a + b));
  EXPECT_EQ(TopologyLayerNames(read->topology), (std::vector<std::string>{"input_1", "Conv1"}));
}

TEST_F(TfjsModelTest, QuantisedInt32IsRounded) {
  auto read = ReadTfjsLayersModel(Write(
      Model({Quantised(Weight("n", {2}, "int32"), "uint8", 0.0, 0.6)}), Bytes<uint8_t>({1, 4})));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_TRUE(read->weights.at("n").equal(torch::tensor({1, 2}, torch::kInt32)));
}

TEST_F(TfjsModelTest, ShardTooShortNamesTheWeight) {
  auto read = ReadTfjsLayersModel(
      Write(Model({Weight("a", {2}, "float32"), Weight("conv/kernel", {3, 3}, "float32")}),
            Bytes<float>({1, 2, 3})));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_NE(read.status().message().find("conv/kernel"), std::string::npos)
      << read.status().message();
  EXPECT_NE(read.status().message().find("too short"), std::string::npos)
      << read.status().message();
  EXPECT_NE(read.status().message().find("model.json"), std::string::npos)
      << read.status().message();
}

TEST_F(TfjsModelTest, MissingShard) {
  auto read = ReadTfjsLayersModel(
      WriteModelJson(Model({Weight("a", {1}, "float32")}, {"nowhere.bin"}).dump()));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kNotFound);
  EXPECT_NE(read.status().message().find("nowhere.bin"), std::string::npos)
      << read.status().message();
}

TEST_F(TfjsModelTest, InvalidJson) {
  auto read = ReadTfjsLayersModel(WriteModelJson("{\"weightsManifest\": [ {\"paths\": "));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_NE(read.status().message().find("invalid model.json"), std::string::npos)
      << read.status().message();
}

TEST_F(TfjsModelTest, ManifestFieldOfWrongType) {
  json model = Model({Weight("a", {1}, "float32")});
  model["weightsManifest"][0]["weights"][0]["name"] = 3;
  auto read = ReadTfjsLayersModel(Write(model, Bytes<float>({1})));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kCorruption);
}

TEST_F(TfjsModelTest, NoManifest) {
  auto read = ReadTfjsLayersModel(WriteModelJson(R"({"modelTopology": {}})"));
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("no weightsManifest"), std::string::npos)
      << read.status().message();
}

TEST_F(TfjsModelTest, UnknownDtypes) {
  auto read =
      ReadTfjsLayersModel(Write(Model({Weight("a", {1}, "complex64")}), Bytes<float>({1, 2})));
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("unsupported dtype 'complex64'"), std::string::npos)
      << read.status().message();

  read = ReadTfjsLayersModel(
      Write(Model({Quantised(Weight("a", {1}, "float32"), "int4", 0, 1)}), Bytes<float>({1})));
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("unknown quantization dtype 'int4'"), std::string::npos)
      << read.status().message();
}

TEST_F(TfjsModelTest, NegativeDimension) {
  auto read =
      ReadTfjsLayersModel(Write(Model({Weight("a", {2, -1}, "float32")}), Bytes<float>({1})));
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("invalid shape"), std::string::npos)
      << read.status().message();
}

TEST_F(TfjsModelTest, MissingModelJson) {
  auto read = ReadTfjsLayersModel(dir_.path() / "model.json");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kNotFound);
}

TEST(TopologyLayerNames, SequentialAndUnknownShapes) {
  EXPECT_EQ(
      TopologyLayerNames(json::parse(
          R"({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d"}}]})")),
      std::vector<std::string>{"d"});
  EXPECT_TRUE(TopologyLayerNames(json()).empty());
  EXPECT_TRUE(TopologyLayerNames(json::parse(R"({"config": 3})")).empty());
}

}  // namespace
}  // namespace orchard::trainer
