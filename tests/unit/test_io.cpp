// .npy and .safetensors: round trips, foreign variants, and every kind of broken file giving a
// clear error (never a crash), with nothing half-written.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/file.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace lstm {
namespace {

// A .npy file with the given header dict and raw data bytes.
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(1), out += char(0);
  out += char(header.size() & 0xff), out += char(header.size() >> 8);
  return out + header + data;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Npy, RoundTripShapes) {
  test::TempDir dir;
  for (std::vector<int64_t> shape : {std::vector<int64_t>{3, 4, 2}, {5}, {2, 1}, {}}) {
    Tensor t = test::random_tensor(shape, 3);
    save_npy(dir.file("a.npy"), t);
    Tensor back = load_npy(dir.file("a.npy"));
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.storage(), t.storage());
  }
}

TEST(Npy, Float64BigEndianAndIntegers) {
  test::TempDir dir;
  double d[2] = {1.5, -2.25};
  write(dir.file("f8.npy"), npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                      std::string(reinterpret_cast<char*>(d), 16)));
  EXPECT_EQ(load_npy(dir.file("f8.npy")).storage(), (std::vector<float>{1.5f, -2.25f}));
  const char be[4] = {0x3f, char(0x80), 0, 0};  // 1.0f big-endian
  write(dir.file("be.npy"), npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }",
                                      std::string(be, 4)));
  EXPECT_EQ(load_npy(dir.file("be.npy"))[0], 1.0f);
  int64_t labels[3] = {0, 2, 1};
  write(dir.file("i8.npy"), npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                      std::string(reinterpret_cast<char*>(labels), 24)));
  EXPECT_ERROR_WITH(load_npy(dir.file("i8.npy")), "astype('float32')");
  EXPECT_EQ(load_npy(dir.file("i8.npy"), true).storage(), (std::vector<float>{0, 2, 1}));
}

// The same errors from map_npy, which maps only what it can check is float32 in C order.
TEST(Npy, BrokenFilesAreClearErrors) {
  for (auto load : {+[](const std::string& p) { return load_npy(p); },
                    +[](const std::string& p) { return map_npy(p); }}) {
    test::TempDir dir;
    write(dir.file("fortran.npy"),
          npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                    std::string(16, '\0')));
    EXPECT_ERROR_WITH(load(dir.file("fortran.npy")), "Fortran order");
    write(dir.file("short.npy"),
          npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 3), }",
                    std::string(40, '\0')));
    EXPECT_ERROR_WITH(load(dir.file("short.npy")), "truncated");
    write(dir.file("huge.npy"), npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                          "(4000000000, 4000000000, 4000000000), }",
                                          std::string(16, '\0')));
    EXPECT_ERROR_WITH(load(dir.file("huge.npy")), "truncated or corrupt");
    write(dir.file("text.npy"), "hello, world");
    EXPECT_ERROR_WITH(load(dir.file("text.npy")), "magic");
    write(dir.file("complex.npy"),
          npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                    std::string(8, '\0')));
    EXPECT_ERROR_WITH(load(dir.file("complex.npy")), "dtype '<c8'");
    write(dir.file("struct.npy"),
          npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                    std::string(4, '\0')));
    EXPECT_ERROR_WITH(load(dir.file("struct.npy")), "structured");
    write(dir.file("cut.npy"),
          npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "").substr(0, 20));
    EXPECT_ERROR_WITH(load(dir.file("cut.npy")), "truncated inside its header");
    EXPECT_ERROR_WITH(load(dir.file("missing.npy")), "cannot open");
  }
}

TEST(Npy, MappedIsAViewThatKeepsItsFileMapped) {
  test::TempDir dir;
  const Tensor t = test::random_tensor({16, 5, 3}, 7);
  save_npy(dir.file("a.npy"), t);
  Tensor reshaped;
  {
    Tensor mapped = map_npy(dir.file("a.npy"));
    EXPECT_TRUE(mapped.is_view());
    EXPECT_EQ(mapped.shape(), t.shape());
    EXPECT_EQ(0, std::memcmp(mapped.data(), t.data(), sizeof(float) * size_t(t.size())));
    Tensor moved = std::move(mapped);
    reshaped = moved.reshaped({16, 15});  // a view of the same mapping, which it keeps
    moved[0] = 99.0f;                     // private: the file keeps its value
  }
  EXPECT_TRUE(reshaped.is_view());
  EXPECT_EQ(reshaped[0], 99.0f);
  EXPECT_EQ(reshaped[reshaped.size() - 1], t[t.size() - 1]);
  EXPECT_EQ(load_npy(dir.file("a.npy"))[0], t[0]);
  const Tensor copy = reshaped;  // a copy owns its data
  EXPECT_FALSE(copy.is_view());
  // other dtypes are read and converted, as load_npy does
  double d[2] = {1.5, -2.25};
  write(dir.file("f8.npy"), npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                      std::string(reinterpret_cast<char*>(d), 16)));
  const Tensor f8 = map_npy(dir.file("f8.npy"));
  EXPECT_FALSE(f8.is_view());
  EXPECT_EQ(f8.storage(), (std::vector<float>{1.5f, -2.25f}));
  int64_t labels[3] = {0, 2, 1};
  write(dir.file("i8.npy"), npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                      std::string(reinterpret_cast<char*>(labels), 24)));
  EXPECT_ERROR_WITH(map_npy(dir.file("i8.npy")), "astype('float32')");
  EXPECT_EQ(map_npy(dir.file("i8.npy"), true).storage(), (std::vector<float>{0, 2, 1}));
  // bytes after the data: refused as by load_npy (the view would not be the file)
  write(dir.file("long.npy"), npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                        std::string(12, '\0')));
  EXPECT_ERROR_WITH(map_npy(dir.file("long.npy")), "bytes follow the data");
}

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    Sequential model({.seed = 2});
    model.add(LSTM(3, {.input_shape = {4, 2}}));
    model.add(Dense(1));
    path = dir.file("m.safetensors");
    model.save(path);
    bytes = read_file(path, "test");
  }
  // Rewrites the file from a modified SafetensorsFile.
  std::string with(const std::function<void(SafetensorsFile&)>& edit) {
    SafetensorsFile f = read_safetensors(path);
    edit(f);
    std::string p = dir.file("edited.safetensors");
    write_safetensors(p, f);
    return p;
  }
  test::TempDir dir;
  std::string path, bytes;
};

TEST_F(ModelFile, LayoutIsTheDocumentedOne) {
  SafetensorsFile f = read_safetensors(path);
  std::vector<std::string> names;
  for (auto& t : f.tensors) names.push_back(t.name + shape_string(t.shape));
  EXPECT_EQ(names, (std::vector<std::string>{"layers.0.weight_ih[12, 2]", "layers.0.weight_hh[12, 3]",
                                             "layers.0.bias[12]", "layers.1.weight[1, 3]", "layers.1.bias[1]"}));
  EXPECT_EQ(f.metadata["lstm.format_version"], "1");
  EXPECT_NE(f.metadata["lstm.config"].find("\"input_shape\":[4,2]"), std::string::npos);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // header padded to 8 bytes
  EXPECT_EQ(bytes.size(), 8 + n + 4 * (24 + 36 + 12 + 3 + 1));
}

TEST_F(ModelFile, TruncatedAndCorruptFilesAreClearErrors) {
  for (size_t cut : {size_t(0), size_t(5), size_t(20), bytes.size() - 1}) {
    write(dir.file("cut.safetensors"), bytes.substr(0, cut));
    EXPECT_THROW(Sequential::load(dir.file("cut.safetensors")), Error) << "cut at " << cut;
  }
  write(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() - 4));
  EXPECT_ERROR_WITH(Sequential::load(dir.file("cut.safetensors")), "truncated or corrupt");
  std::string huge = bytes;
  huge[7] = 0x7f;  // header length far past the end
  write(dir.file("huge.safetensors"), huge);
  EXPECT_ERROR_WITH(Sequential::load(dir.file("huge.safetensors")), "runs past the end");
  std::string garbled = bytes;
  garbled[9] = '#';
  write(dir.file("garbled.safetensors"), garbled);
  EXPECT_ERROR_WITH(Sequential::load(dir.file("garbled.safetensors")), "not valid JSON");
}

TEST_F(ModelFile, MismatchesWithTheConfigAreNamed) {
  EXPECT_ERROR_WITH(Sequential::load(with([](SafetensorsFile& f) { f.tensors.erase(f.tensors.begin() + 1); })),
                    "lacks tensor 'layers.0.weight_hh' [12, 3]");
  EXPECT_ERROR_WITH(Sequential::load(with([](SafetensorsFile& f) { f.tensors[0].shape = {2, 12}; })),
                    "'layers.0.weight_ih' has shape [2, 12] but the config says [12, 2]");
  EXPECT_ERROR_WITH(Sequential::load(with([](SafetensorsFile& f) { f.tensors.push_back({"extra", {1}, {0.0f}}); })),
                    "holds tensor 'extra'");
  EXPECT_ERROR_WITH(Sequential::load(with([](SafetensorsFile& f) { f.metadata.clear(); })),
                    "no \"lstm.config\" metadata");
  EXPECT_ERROR_WITH(
      Sequential::load(with([](SafetensorsFile& f) { f.metadata["lstm.config"] = R"({"layers": [{"type": "lstm"}]})"; })),
      "missing key \"units\"");
}

TEST_F(ModelFile, OtherDtypesAreNamed) {
  std::string b = bytes;
  size_t at = b.find("\"F32\"");
  ASSERT_NE(at, std::string::npos);
  b.replace(at, 5, "\"I32\"");
  write(dir.file("i32.safetensors"), b);
  EXPECT_ERROR_WITH(Sequential::load(dir.file("i32.safetensors")), "has dtype I32");
}

TEST_F(ModelFile, FailedWritesLoseNothing) {
  Sequential model = Sequential::load(path);
  EXPECT_ERROR_WITH(model.save(dir.file("no/such/folder/m.safetensors")), "does not exist or is not writable");
  // Saving over an existing file replaces it whole; no temporary files are left behind.
  model.save(path);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) files += 1, (void)e;
  EXPECT_EQ(files, 1);
  EXPECT_EQ(read_file(path, "test"), bytes);
}

}  // namespace
}  // namespace lstm
