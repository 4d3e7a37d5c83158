// A zip archive in memory, entries stored (see zip_writer.h).
#include "io/zip_writer.h"

#include <zip.h>

#include <memory>

#include "lstm/error.h"

namespace lstm {

namespace {

struct SourceCloser {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

}  // namespace

std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t e;
  zip_error_init(&e);
  std::unique_ptr<zip_source_t, SourceCloser> buffer(zip_source_buffer_create(nullptr, 0, 0, &e));
  if (!buffer) throw Error("out of memory building the zip");
  zip_source_keep(buffer.get());  // outlives the archive, which writes into it
  zip_t* z = zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &e);
  if (!z) {
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    zip_source_free(buffer.get());  // the archive's reference, never taken
    throw Error("cannot start the zip: " + why);
  }
  zip_error_fini(&e);
  std::unique_ptr<zip_t, ZipCloser> archive(z);  // discarded unless closed below
  auto add = [&](const std::string& name, const std::string& bytes) {
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);  // read at zip_close
    if (!s) throw Error("cannot add " + name + " to the zip: " + zip_strerror(z));
    const zip_int64_t index = zip_file_add(z, name.c_str(), s, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(s);
      throw Error("cannot add " + name + " to the zip: " + zip_strerror(z));
    }
    if (zip_set_file_compression(z, zip_uint64_t(index), ZIP_CM_STORE, 0) != 0)
      throw Error("cannot store " + name + " uncompressed: " + zip_strerror(z));
  };
  for (const auto& [name, contents] : entries) add(name, contents);
  if (zip_close(archive.get()) != 0) throw Error(std::string("cannot write the zip: ") + zip_strerror(archive.get()));
  archive.release();  // closed

  zip_source_t* src = buffer.get();
  if (zip_source_open(src) != 0) throw Error("cannot read the zip back from memory");
  std::string bytes;
  char chunk[65536];
  for (zip_int64_t n; (n = zip_source_read(src, chunk, sizeof chunk)) > 0;) bytes.append(chunk, size_t(n));
  zip_source_close(src);
  return bytes;
}

}  // namespace lstm
