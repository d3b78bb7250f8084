#pragma once
// Small RAII wrappers over the serial HDF5 C API (one file per rank; no parallel HDF5, no C++ API).
//
// Every failing HDF5 call throws dagalign::Error naming the file and the object, followed by the HDF5
// error stack (h5::init() silences the library's default auto-print once per process and we walk the
// stack ourselves). Handles close themselves; File::close()/flush() report errors, destructors do not.
//
// Tensors cross the boundary as contiguous CPU at::Tensor. Type mapping (file <-> torch):
//   float32 <-> kFloat, float64 <-> kDouble, IEEE binary16 (h5py's float16) <-> kHalf,
//   int8/16/32/64 <-> kChar/kShort/kInt/kLong, uint8 <-> kByte; wider unsigned ints read as kLong.
//   kBool is stored as uint8 and kBFloat16 as float32, both with a dataset attribute
//   torch_dtype = "bool" / "bfloat16" so that read_tensor() gives the original dtype back.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign::h5 {

// Silences HDF5's default error printing (once); called by File::create/open.
void init();
// The current HDF5 error stack as one line ("H5Fopen: unable to open file <- file signature not found"),
// cleared afterwards. Empty when the stack is empty.
std::string error_stack();
// Throws Error("HDF5 file F, object O: WHAT (stack)").
[[noreturn]] void fail(const std::string& file, const std::string& object, const std::string& what);

// Owns one hid_t (file, group, dataset, dataspace, datatype, property list, attribute) and remembers the
// file path and object name for error messages.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, std::string file, std::string name) : id_(id), file_(std::move(file)), name_(std::move(name)) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept { *this = std::move(o); }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  const std::string& file() const { return file_; }
  const std::string& name() const { return name_; }
  void reset();  // closes without reporting errors
  [[noreturn]] void fail(const std::string& what) const { h5::fail(file_, name_, what); }

 protected:
  hid_t id_ = -1;
  std::string file_, name_;
};

// Owned dataspace / datatype / property list: thin aliases with a meaning.
using Dataspace = Handle;
using Datatype = Handle;
using PropList = Handle;

// Anything that can hold attributes (file root, group, dataset).
class Object : public Handle {
 public:
  using Handle::Handle;
  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;
  void set_attr(const std::string& name, int64_t v);
  void set_attr(const std::string& name, int v) { set_attr(name, int64_t(v)); }
  void set_attr(const std::string& name, double v);
  void set_attr(const std::string& name, const std::string& v);  // variable-length UTF-8
  void set_attr(const std::string& name, const char* v) { set_attr(name, std::string(v)); }
  int64_t attr_int(const std::string& name) const;        // throws naming the attribute if absent/not int
  double attr_double(const std::string& name) const;      // int or float attribute
  std::string attr_string(const std::string& name) const; // fixed or variable-length string
  // 'i' integer scalar, 'f' float scalar, 's' string scalar, '?' anything else (arrays, compounds).
  char attr_class(const std::string& name) const;
  // The attribute rendered as text, whatever its type (for inspect).
  std::string attr_text(const std::string& name) const;
};

class Dataset;
class Group;

// Storage options for an extendible, row-appendable dataset (rows = dimension 0, unlimited).
struct RowsLayout {
  int64_t chunk_rows = 1;  // rows per chunk (1 = one trajectory per chunk)
  int deflate = 0;         // 0: no filter, 1..9: gzip level (with shuffle)
};

// File root or group.
class Location : public Object {
 public:
  using Object::Object;
  // True when the path (a/b/c) names a link; intermediate groups may be missing.
  bool exists(const std::string& path) const;
  Group group(const std::string& path) const;
  Group require_group(const std::string& path);  // creates missing intermediate groups
  Dataset dataset(const std::string& path) const;
  std::vector<std::string> children() const;  // link names, sorted
  bool is_group(const std::string& path) const;

  // Fixed-size dataset holding the tensor (shape and dtype as given; see the mapping above).
  Dataset write_tensor(const std::string& path, const at::Tensor& t, int deflate = 0);
  at::Tensor read_tensor(const std::string& path) const;
  // Scalar variable-length UTF-8 string dataset (long texts such as the resolved config).
  void write_text(const std::string& path, const std::string& text);
  std::string read_text(const std::string& path) const;
  // Extendible dataset of rows: shape (0, trailing...), maxshape (unlimited, trailing...).
  Dataset create_rows(const std::string& path, at::ScalarType dtype, const std::vector<int64_t>& trailing,
                      const RowsLayout& layout);
  // Extendible 1-D dataset of variable-length UTF-8 strings.
  Dataset create_string_rows(const std::string& path, const RowsLayout& layout);
};

class Group : public Location {
 public:
  using Location::Location;
};

class File : public Location {
 public:
  using Location::Location;
  // Creates (truncating) a file. append_only: never reuse freed file space, so that a crash between
  // two flushes cannot overwrite data that an earlier flush made durable (H5F_FSPACE_STRATEGY_NONE).
  static File create(const std::string& path, bool append_only = true);
  static File open(const std::string& path, bool writable = false);
  // A file held in memory (HDF5 core driver, no backing store) and written to `path` only by publish():
  // HDF5 rewrites metadata in place, in no guaranteed order, so a file written in place can be left
  // unreadable by a SIGKILL in the middle of a flush. publish() writes the whole flushed image to
  // path.tmp and renames it over path, so `path` always holds the image of the last publish() that returned.
  static File create_in_memory(const std::string& path);
  static File open_in_memory(const std::string& path);  // reads the file at `path`; publish() replaces it
  void publish(bool fsync = false);  // flush, write path.tmp (fsync it and the folder if asked), rename
  void flush();  // H5Fflush(H5F_SCOPE_GLOBAL): metadata and raw data handed to the OS (or to memory)
  void close();  // reports close errors
};

class Dataset : public Object {
 public:
  using Object::Object;
  std::vector<int64_t> shape() const;
  int64_t rows() const;                 // shape()[0] (1 for a scalar dataset)
  at::ScalarType scalar_type() const;   // torch dtype the data reads as (before torch_dtype attr mapping)
  bool is_string() const;
  std::string type_name() const;        // "float32", "float16", "int64", "uint8", "string", ...
  bool chunked() const;
  bool is_virtual() const;              // a virtual dataset (VDS) mapping other files
  std::vector<int64_t> chunk() const;   // empty if contiguous
  int deflate_level() const;            // 0 if none

  // Appends t (n, trailing...) converted to the dataset's dtype; trailing dims must match.
  void append_rows(const at::Tensor& t);
  void append_strings(const std::vector<std::string>& s);
  void resize_rows(int64_t rows);
  // Rows [begin, begin+count) in the dataset's dtype (count < 0: to the end).
  at::Tensor read_rows(int64_t begin = 0, int64_t count = -1) const;
  std::vector<std::string> read_strings(int64_t begin = 0, int64_t count = -1) const;
  at::Tensor read() const { return read_rows(0, -1); }
};

// dtype of the file storage used for a torch dtype (see the mapping above).
std::string torch_dtype_name(at::ScalarType t);

}  // namespace dagalign::h5
