#include "dagalign/io/hdf5.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/io/fsync.h"

namespace dagalign::h5 {
namespace {

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
  auto* lines = static_cast<std::vector<std::string>*>(data);
  std::string line = e->desc ? e->desc : "";
  if (n == 0 && e->func_name) line = cat(e->func_name, ": ", line);
  if (lines->empty() || lines->back() != line) lines->push_back(line);
  return 0;
}

// IEEE binary16 as h5py defines it (h5t.pyx): F32LE with fields (15, 10, 5, 0, 10), size 2, bias 15.
hid_t half_type() {
  static hid_t t = [] {
    hid_t h = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(h, 15, 10, 5, 0, 10);
    H5Tset_size(h, 2);
    H5Tset_ebias(h, 15);
    H5Tlock(h);
    return h;
  }();
  return t;
}

hid_t vlen_string_type() {
  static hid_t t = [] {
    hid_t h = H5Tcopy(H5T_C_S1);
    H5Tset_size(h, H5T_VARIABLE);
    H5Tset_cset(h, H5T_CSET_UTF8);
    H5Tlock(h);
    return h;
  }();
  return t;
}

// Storage dtype of a torch dtype: bool -> uint8, bfloat16 -> float32 (no exact HDF5/h5py equivalents).
at::ScalarType storage_type(at::ScalarType t) {
  if (t == at::kBool) return at::kByte;
  if (t == at::kBFloat16) return at::kFloat;
  return t;
}

hid_t file_type_of(at::ScalarType t, const std::string& file, const std::string& obj) {
  switch (storage_type(t)) {
    case at::kFloat: return H5T_IEEE_F32LE;
    case at::kDouble: return H5T_IEEE_F64LE;
    case at::kHalf: return half_type();
    case at::kLong: return H5T_STD_I64LE;
    case at::kInt: return H5T_STD_I32LE;
    case at::kShort: return H5T_STD_I16LE;
    case at::kChar: return H5T_STD_I8LE;
    case at::kByte: return H5T_STD_U8LE;
    default: fail(file, obj, cat("unsupported tensor dtype ", t));
  }
}

hid_t mem_type_of(at::ScalarType t, const std::string& file, const std::string& obj) {
  switch (t) {
    case at::kFloat: return H5T_NATIVE_FLOAT;
    case at::kDouble: return H5T_NATIVE_DOUBLE;
    case at::kHalf: return half_type();
    case at::kLong: return H5T_NATIVE_INT64;
    case at::kInt: return H5T_NATIVE_INT32;
    case at::kShort: return H5T_NATIVE_INT16;
    case at::kChar: return H5T_NATIVE_INT8;
    case at::kByte: return H5T_NATIVE_UINT8;
    default: fail(file, obj, cat("unsupported tensor dtype ", t));
  }
}

at::ScalarType torch_type_of(hid_t type, const std::string& file, const std::string& obj) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) {
    if (size == 2) return at::kHalf;
    if (size == 4) return at::kFloat;
    if (size == 8) return at::kDouble;
  } else if (cls == H5T_INTEGER) {
    bool sign = H5Tget_sign(type) == H5T_SGN_2;
    if (size == 1) return sign ? at::kChar : at::kByte;
    if (sign && size == 2) return at::kShort;
    if (sign && size == 4) return at::kInt;
    if (size <= 8) return at::kLong;
  }
  fail(file, obj, cat("unsupported HDF5 datatype (class ", int(cls), ", ", size, " bytes)"));
}

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& v) { return std::vector<hsize_t>(v.begin(), v.end()); }

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

std::string join(const std::string& parent, const std::string& child) {
  if (parent.empty() || parent == "/") return "/" + child;
  return parent + "/" + child;
}

PropList link_create_plist(const std::string& file, const std::string& obj) {
  PropList lcpl(H5Pcreate(H5P_LINK_CREATE), file, obj);
  if (!lcpl.valid() || H5Pset_create_intermediate_group(lcpl.id(), 1) < 0) fail(file, obj, "link property list");
  return lcpl;
}

void reclaim_strings(hid_t memtype, hid_t space, void* buf) {
#if H5_VERSION_GE(1, 12, 0)
  H5Treclaim(memtype, space, H5P_DEFAULT, buf);
#else
  H5Dvlen_reclaim(memtype, space, H5P_DEFAULT, buf);
#endif
}

std::string strip_fixed(const char* p, size_t n) {
  std::string s(p, strnlen(p, n));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

void init() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string error_stack() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &lines);
  H5Eclear2(H5E_DEFAULT);
  std::string s;
  for (size_t i = 0; i < lines.size(); ++i) s += (i ? " <- " : "") + lines[i];
  return s;
}

void fail(const std::string& file, const std::string& object, const std::string& what) {
  std::string stack = error_stack();
  throw Error(cat("HDF5 file ", file, (object.empty() ? "" : ", object " + object), ": ", what,
                  (stack.empty() ? "" : " (" + stack + ")")));
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    file_ = std::move(o.file_);
    name_ = std::move(o.name_);
    o.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0) {
    // Predefined (library) ids are never owned here; H5Idec_ref closes any user id at count 0.
    H5Idec_ref(id_);
    H5Eclear2(H5E_DEFAULT);
  }
  id_ = -1;
}

// ---------------------------------------------------------------------------------------------- Object

bool Object::has_attr(const std::string& name) const {
  htri_t r = H5Aexists(id_, name.c_str());
  if (r < 0) fail(cat("checking attribute ", name));
  return r > 0;
}

std::vector<std::string> Object::attr_names() const {
  std::vector<std::string> names;
  auto cb = [](hid_t, const char* n, const H5A_info_t*, void* d) -> herr_t {
    static_cast<std::vector<std::string>*>(d)->push_back(n);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Aiterate2(id_, H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &names) < 0) fail("listing attributes");
  return names;
}

namespace {
// Opens attribute `name` for writing with file type `ftype`, replacing one of a different type class.
Handle writable_attr(const Object& o, const std::string& name, hid_t ftype) {
  htri_t ex = H5Aexists(o.id(), name.c_str());
  if (ex < 0) o.fail(cat("checking attribute ", name));
  if (ex > 0) {
    Handle a(H5Aopen(o.id(), name.c_str(), H5P_DEFAULT), o.file(), o.name());
    Datatype t(H5Aget_type(a.id()), o.file(), o.name());
    bool same = H5Tget_class(t.id()) == H5Tget_class(ftype) && H5Tis_variable_str(t.id()) == H5Tis_variable_str(ftype);
    if (same) return a;
    a.reset();
    if (H5Adelete(o.id(), name.c_str()) < 0) o.fail(cat("replacing attribute ", name));
  }
  Dataspace sp(H5Screate(H5S_SCALAR), o.file(), o.name());
  hid_t a = H5Acreate2(o.id(), name.c_str(), ftype, sp.id(), H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) o.fail(cat("creating attribute ", name));
  return Handle(a, o.file(), o.name());
}

Handle open_attr(const Object& o, const std::string& name) {
  htri_t ex = H5Aexists(o.id(), name.c_str());
  if (ex <= 0) o.fail(cat("missing attribute '", name, "'"));
  hid_t a = H5Aopen(o.id(), name.c_str(), H5P_DEFAULT);
  if (a < 0) o.fail(cat("opening attribute ", name));
  return Handle(a, o.file(), o.name());
}

hssize_t attr_points(const Object& o, const Handle& a, const std::string& name) {
  Dataspace sp(H5Aget_space(a.id()), o.file(), o.name());
  hssize_t n = H5Sget_simple_extent_npoints(sp.id());
  if (n < 0) o.fail(cat("attribute ", name, " dataspace"));
  return n;
}
}  // namespace

void Object::set_attr(const std::string& name, int64_t v) {
  Handle a = writable_attr(*this, name, H5T_STD_I64LE);
  if (H5Awrite(a.id(), H5T_NATIVE_INT64, &v) < 0) fail(cat("writing attribute ", name));
}

void Object::set_attr(const std::string& name, double v) {
  Handle a = writable_attr(*this, name, H5T_IEEE_F64LE);
  if (H5Awrite(a.id(), H5T_NATIVE_DOUBLE, &v) < 0) fail(cat("writing attribute ", name));
}

void Object::set_attr(const std::string& name, const std::string& v) {
  Handle a = writable_attr(*this, name, vlen_string_type());
  const char* p = v.c_str();
  if (H5Awrite(a.id(), vlen_string_type(), &p) < 0) fail(cat("writing attribute ", name));
}

int64_t Object::attr_int(const std::string& name) const {
  Handle a = open_attr(*this, name);
  Datatype t(H5Aget_type(a.id()), file_, name_);
  if (H5Tget_class(t.id()) != H5T_INTEGER || attr_points(*this, a, name) != 1)
    fail(cat("attribute '", name, "' is not an integer scalar"));
  int64_t v = 0;
  if (H5Aread(a.id(), H5T_NATIVE_INT64, &v) < 0) fail(cat("reading attribute ", name));
  return v;
}

double Object::attr_double(const std::string& name) const {
  Handle a = open_attr(*this, name);
  Datatype t(H5Aget_type(a.id()), file_, name_);
  H5T_class_t c = H5Tget_class(t.id());
  if ((c != H5T_INTEGER && c != H5T_FLOAT) || attr_points(*this, a, name) != 1)
    fail(cat("attribute '", name, "' is not a numeric scalar"));
  double v = 0;
  if (H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v) < 0) fail(cat("reading attribute ", name));
  return v;
}

std::string Object::attr_string(const std::string& name) const {
  Handle a = open_attr(*this, name);
  Datatype t(H5Aget_type(a.id()), file_, name_);
  if (H5Tget_class(t.id()) != H5T_STRING || attr_points(*this, a, name) != 1)
    fail(cat("attribute '", name, "' is not a string scalar"));
  if (H5Tis_variable_str(t.id()) > 0) {
    char* p = nullptr;
    if (H5Aread(a.id(), vlen_string_type(), &p) < 0) fail(cat("reading attribute ", name));
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  size_t n = H5Tget_size(t.id());
  std::vector<char> buf(n + 1, 0);
  Datatype mt(H5Tcopy(t.id()), file_, name_);
  if (H5Aread(a.id(), mt.id(), buf.data()) < 0) fail(cat("reading attribute ", name));
  return strip_fixed(buf.data(), n);
}

char Object::attr_class(const std::string& name) const {
  Handle a = open_attr(*this, name);
  Datatype t(H5Aget_type(a.id()), file_, name_);
  if (attr_points(*this, a, name) != 1) return '?';
  switch (H5Tget_class(t.id())) {
    case H5T_INTEGER: return 'i';
    case H5T_FLOAT: return 'f';
    case H5T_STRING: return 's';
    default: return '?';
  }
}

std::string Object::attr_text(const std::string& name) const {
  Handle a = open_attr(*this, name);
  Datatype t(H5Aget_type(a.id()), file_, name_);
  H5T_class_t c = H5Tget_class(t.id());
  hssize_t n = attr_points(*this, a, name);
  if (c == H5T_STRING && n == 1) return attr_string(name);
  if (c == H5T_INTEGER || c == H5T_FLOAT) {
    std::vector<double> v(size_t(std::max<hssize_t>(n, 0)));
    if (!v.empty() && H5Aread(a.id(), H5T_NATIVE_DOUBLE, v.data()) < 0) fail(cat("reading attribute ", name));
    std::string s = n == 1 ? "" : "[";
    for (size_t i = 0; i < v.size(); ++i) {
      char b[64];
      std::snprintf(b, sizeof b, c == H5T_INTEGER ? "%.0f" : "%.9g", v[i]);
      s += (i ? ", " : "") + std::string(b);
    }
    return n == 1 ? s : s + "]";
  }
  return "(unprintable attribute)";
}

// -------------------------------------------------------------------------------------------- Location

bool Location::exists(const std::string& path) const {
  std::string cur;
  for (const auto& part : split_path(path)) {
    cur = cur.empty() ? part : cur + "/" + part;
    htri_t r = H5Lexists(id_, cur.c_str(), H5P_DEFAULT);
    if (r < 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;  // an intermediate link that is not a group
    }
    if (r == 0) return false;
  }
  return true;
}

bool Location::is_group(const std::string& path) const {
  if (!exists(path)) return false;
  hid_t o = H5Oopen(id_, path.c_str(), H5P_DEFAULT);
  if (o < 0) fail(cat("opening object ", path));
  Handle h(o, file_, path);
  return H5Iget_type(o) == H5I_GROUP;
}

Group Location::group(const std::string& path) const {
  if (!exists(path)) fail(cat("missing group '", path, "'"));
  hid_t g = H5Gopen2(id_, path.c_str(), H5P_DEFAULT);
  if (g < 0) h5::fail(file_, join(name_, path), "opening group");
  return Group(g, file_, join(name_, path));
}

Group Location::require_group(const std::string& path) {
  if (exists(path)) return group(path);
  PropList lcpl = link_create_plist(file_, path);
  hid_t g = H5Gcreate2(id_, path.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) h5::fail(file_, join(name_, path), "creating group");
  return Group(g, file_, join(name_, path));
}

Dataset Location::dataset(const std::string& path) const {
  if (!exists(path)) fail(cat("missing dataset '", path, "'"));
  hid_t d = H5Dopen2(id_, path.c_str(), H5P_DEFAULT);
  if (d < 0) h5::fail(file_, join(name_, path), "opening dataset");
  return Dataset(d, file_, join(name_, path));
}

std::vector<std::string> Location::children() const {
  std::vector<std::string> names;
  auto cb = [](hid_t, const char* n, const H5L_info_t*, void* d) -> herr_t {
    static_cast<std::vector<std::string>*>(d)->push_back(n);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Literate(id_, H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &names) < 0) fail("listing links");
  return names;
}

Dataset Location::write_tensor(const std::string& path, const at::Tensor& t_in, int deflate) {
  const std::string obj = join(name_, path);
  at::Tensor t = t_in.to(at::kCPU).to(storage_type(t_in.scalar_type())).contiguous();
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  Dataspace sp(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
               file_, obj);
  if (!sp.valid()) h5::fail(file_, obj, "creating dataspace");
  PropList dcpl(H5Pcreate(H5P_DATASET_CREATE), file_, obj);
  if (deflate > 0 && t.numel() > 0 && !dims.empty()) {
    if (H5Pset_chunk(dcpl.id(), int(dims.size()), dims.data()) < 0 || H5Pset_shuffle(dcpl.id()) < 0 ||
        H5Pset_deflate(dcpl.id(), unsigned(deflate)) < 0)
      h5::fail(file_, obj, "setting deflate");
  }
  PropList lcpl = link_create_plist(file_, obj);
  hid_t ftype = file_type_of(t.scalar_type(), file_, obj);
  hid_t d = H5Dcreate2(id_, path.c_str(), ftype, sp.id(), lcpl.id(), dcpl.id(), H5P_DEFAULT);
  if (d < 0) h5::fail(file_, obj, "creating dataset");
  Dataset ds(d, file_, obj);
  if (t.numel() > 0 &&
      H5Dwrite(d, mem_type_of(t.scalar_type(), file_, obj), H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0)
    h5::fail(file_, obj, "writing dataset");
  if (t_in.scalar_type() != t.scalar_type()) ds.set_attr("torch_dtype", torch_dtype_name(t_in.scalar_type()));
  return ds;
}

at::Tensor Location::read_tensor(const std::string& path) const {
  Dataset ds = dataset(path);
  at::Tensor t = ds.read();
  if (ds.has_attr("torch_dtype")) {
    std::string n = ds.attr_string("torch_dtype");
    if (n == "bool") t = t.to(at::kBool);
    else if (n == "bfloat16") t = t.to(at::kBFloat16);
    else ds.fail(cat("unknown torch_dtype attribute '", n, "'"));
  }
  return t;
}

void Location::write_text(const std::string& path, const std::string& text) {
  const std::string obj = join(name_, path);
  Dataspace sp(H5Screate(H5S_SCALAR), file_, obj);
  PropList lcpl = link_create_plist(file_, obj);
  hid_t d = H5Dcreate2(id_, path.c_str(), vlen_string_type(), sp.id(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT);
  if (d < 0) h5::fail(file_, obj, "creating text dataset");
  Dataset ds(d, file_, obj);
  const char* p = text.c_str();
  if (H5Dwrite(d, vlen_string_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) < 0) h5::fail(file_, obj, "writing text");
}

std::string Location::read_text(const std::string& path) const {
  Dataset ds = dataset(path);
  if (!ds.is_string()) ds.fail("not a string dataset");
  auto s = ds.read_strings(0, -1);
  if (s.size() != 1) ds.fail(cat("expected one string, found ", s.size()));
  return s[0];
}

Dataset Location::create_rows(const std::string& path, at::ScalarType dtype, const std::vector<int64_t>& trailing,
                              const RowsLayout& layout) {
  const std::string obj = join(name_, path);
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{hsize_t(std::max<int64_t>(layout.chunk_rows, 1))};
  for (int64_t d : trailing) {
    if (d <= 0) h5::fail(file_, obj, cat("trailing dimension ", d, " must be positive"));
    dims.push_back(hsize_t(d));
    maxdims.push_back(hsize_t(d));
    chunk.push_back(hsize_t(d));
  }
  Dataspace sp(H5Screate_simple(int(dims.size()), dims.data(), maxdims.data()), file_, obj);
  PropList dcpl(H5Pcreate(H5P_DATASET_CREATE), file_, obj);
  if (H5Pset_chunk(dcpl.id(), int(chunk.size()), chunk.data()) < 0) h5::fail(file_, obj, "setting chunk shape");
  if (layout.deflate > 0 &&
      (H5Pset_shuffle(dcpl.id()) < 0 || H5Pset_deflate(dcpl.id(), unsigned(layout.deflate)) < 0))
    h5::fail(file_, obj, "setting deflate");
  hid_t ftype = file_type_of(dtype, file_, obj);
  size_t chunk_bytes = H5Tget_size(ftype);
  for (hsize_t c : chunk) chunk_bytes *= c;
  PropList dapl(H5Pcreate(H5P_DATASET_ACCESS), file_, obj);
  // Keep at least two chunks in the chunk cache (default 1 MiB is smaller than one SD trajectory).
  H5Pset_chunk_cache(dapl.id(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT, std::max<size_t>(size_t(1) << 20, 2 * chunk_bytes), 1.0);
  PropList lcpl = link_create_plist(file_, obj);
  hid_t d = H5Dcreate2(id_, path.c_str(), ftype, sp.id(), lcpl.id(), dcpl.id(), dapl.id());
  if (d < 0) h5::fail(file_, obj, "creating extendible dataset");
  Dataset ds(d, file_, obj);
  if (dtype != storage_type(dtype)) ds.set_attr("torch_dtype", torch_dtype_name(dtype));
  return ds;
}

Dataset Location::create_string_rows(const std::string& path, const RowsLayout& layout) {
  const std::string obj = join(name_, path);
  hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {hsize_t(std::max<int64_t>(layout.chunk_rows, 1))};
  Dataspace sp(H5Screate_simple(1, dims, maxdims), file_, obj);
  PropList dcpl(H5Pcreate(H5P_DATASET_CREATE), file_, obj);
  if (H5Pset_chunk(dcpl.id(), 1, chunk) < 0) h5::fail(file_, obj, "setting chunk shape");
  PropList lcpl = link_create_plist(file_, obj);
  hid_t d = H5Dcreate2(id_, path.c_str(), vlen_string_type(), sp.id(), lcpl.id(), dcpl.id(), H5P_DEFAULT);
  if (d < 0) h5::fail(file_, obj, "creating string dataset");
  return Dataset(d, file_, obj);
}

// ------------------------------------------------------------------------------------------------ File

File File::create(const std::string& path, bool append_only) {
  init();
  PropList fcpl(H5Pcreate(H5P_FILE_CREATE), path, "/");
  if (append_only && H5Pset_file_space_strategy(fcpl.id(), H5F_FSPACE_STRATEGY_NONE, 0, 1) < 0)
    h5::fail(path, "/", "setting file space strategy");
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.id(), H5P_DEFAULT);
  if (f < 0) h5::fail(path, "", "cannot create file");
  return File(f, path, "/");
}

namespace {
PropList core_fapl(const std::string& path) {
  PropList fapl(H5Pcreate(H5P_FILE_ACCESS), path, "/");
  if (H5Pset_fapl_core(fapl.id(), 4 << 20, /*backing_store=*/0) < 0) h5::fail(path, "/", "selecting the core driver");
  return fapl;
}

// write(2) all of buf to fd, retrying short writes.
void write_all(int fd, const char* buf, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(cat("HDF5 file ", path, ": write failed (", std::strerror(errno), ")"));
    buf += w;
    n -= size_t(w);
  }
}
}  // namespace

// Default creation properties, hence superblock version 0: HDF5 1.10's H5Fget_file_image clears the
// status flags of a version 2/3 superblock without recomputing its checksum (the image does not open),
// so the file-space options that need a newer superblock (File::create's append_only) are not used here.
// They only mattered for files written in place.
File File::create_in_memory(const std::string& path) {
  init();
  PropList fapl = core_fapl(path);
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
  if (f < 0) h5::fail(path, "", "cannot create file in memory");
  return File(f, path, "/");
}

File File::open_in_memory(const std::string& path) {
  init();
  // Read here and handed over as a file image: the core driver would otherwise keep the file open and
  // locked, and other processes could not read it until the next publish.
  std::vector<char> bytes;
  {
    std::FILE* in = std::fopen(path.c_str(), "rb");
    if (!in) throw Error(cat("HDF5 file ", path, ": cannot open (", std::strerror(errno), ")"));
    char buf[1 << 16];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, in)) > 0;) bytes.insert(bytes.end(), buf, buf + n);
    const bool bad = std::ferror(in);
    std::fclose(in);
    if (bad || bytes.empty()) throw Error(cat("HDF5 file ", path, ": cannot read it (", bad ? "read error" : "empty", ")"));
  }
  PropList fapl = core_fapl(path);
  if (H5Pset_file_image(fapl.id(), bytes.data(), bytes.size()) < 0) h5::fail(path, "", "passing the file image");
  // The core driver refuses an image whose name exists on disk: open it under a name that does not.
  const std::string image_name = path + ".in-memory";
  hid_t f = H5Fopen(image_name.c_str(), H5F_ACC_RDWR, fapl.id());
  if (f < 0) h5::fail(path, "", "cannot open file into memory (truncated, corrupt or not HDF5?)");
  return File(f, path, "/");
}

void File::publish(bool fsync) {
  flush();
  ssize_t size = H5Fget_file_image(id_, nullptr, 0);
  if (size < 0) fail("getting the file image");
  std::vector<char> image(static_cast<size_t>(size));
  if (H5Fget_file_image(id_, image.data(), image.size()) != size) fail("copying the file image");
  if (image.size() > 8 && image[8] >= 2)  // superblock version (see create_in_memory)
    throw Error(cat("HDF5 file ", file_, ": superblock version ", int(image[8]), " cannot be published (HDF5 1.10's "
                    "file image of it has a wrong checksum); only files with superblock version 0 or 1 can"));
  const std::string tmp = file_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(cat("HDF5 file ", file_, ": cannot create ", tmp, " (", std::strerror(errno), ")"));
  try {
    write_all(fd, image.data(), image.size(), tmp);
    if (fsync && ::fsync(fd) != 0) throw Error(cat("HDF5 file ", tmp, ": fsync failed (", std::strerror(errno), ")"));
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw Error(cat("HDF5 file ", tmp, ": close failed (", std::strerror(errno), ")"));
  if (std::rename(tmp.c_str(), file_.c_str()) != 0)
    throw Error(cat("HDF5 file ", file_, ": cannot rename ", tmp, " to it (", std::strerror(errno), ")"));
  if (fsync) fsync_parent_folder(file_);  // the rename itself
}

File File::open(const std::string& path, bool writable) {
  init();
  FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) throw Error(cat("HDF5 file ", path, ": cannot open (", std::strerror(errno), ")"));
  std::fclose(probe);
  hid_t f = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    std::string stack = error_stack();
    if (stack.find("unable to lock file") != std::string::npos)  // another process has it open for writing
      throw Error(cat("HDF5 file ", path, ": cannot open, it is locked (another process writes it? to read it anyway set "
                      "HDF5_USE_FILE_LOCKING=FALSE) (", stack, ")"));
    throw Error(cat("HDF5 file ", path, ": cannot open file (truncated, corrupt or not HDF5?) (", stack, ")"));
  }
  return File(f, path, "/");
}

void File::flush() {
  if (H5Fflush(id_, H5F_SCOPE_GLOBAL) < 0) fail("flush failed");
}

void File::close() {
  if (id_ < 0) return;
  hid_t f = id_;
  id_ = -1;
  if (H5Fclose(f) < 0) h5::fail(file_, "", "close failed");
}

// --------------------------------------------------------------------------------------------- Dataset

std::vector<int64_t> Dataset::shape() const {
  Dataspace sp(H5Dget_space(id_), file_, name_);
  int r = H5Sget_simple_extent_ndims(sp.id());
  if (r < 0) fail("reading dataspace");
  std::vector<hsize_t> d(static_cast<size_t>(r));
  if (r > 0) H5Sget_simple_extent_dims(sp.id(), d.data(), nullptr);
  return std::vector<int64_t>(d.begin(), d.end());
}

int64_t Dataset::rows() const {
  auto s = shape();
  return s.empty() ? 1 : s[0];
}

at::ScalarType Dataset::scalar_type() const {
  Datatype t(H5Dget_type(id_), file_, name_);
  return torch_type_of(t.id(), file_, name_);
}

bool Dataset::is_string() const {
  Datatype t(H5Dget_type(id_), file_, name_);
  return H5Tget_class(t.id()) == H5T_STRING;
}

std::string Dataset::type_name() const {
  Datatype t(H5Dget_type(id_), file_, name_);
  H5T_class_t c = H5Tget_class(t.id());
  size_t size = H5Tget_size(t.id());
  if (c == H5T_STRING) return H5Tis_variable_str(t.id()) > 0 ? "string" : cat("string[", size, "]");
  if (c == H5T_FLOAT) return cat("float", 8 * size);
  if (c == H5T_INTEGER) return cat(H5Tget_sign(t.id()) == H5T_SGN_2 ? "int" : "uint", 8 * size);
  return cat("class", int(c));
}

bool Dataset::chunked() const { return !chunk().empty(); }

bool Dataset::is_virtual() const {
  PropList p(H5Dget_create_plist(id_), file_, name_);
  return H5Pget_layout(p.id()) == H5D_VIRTUAL;
}

std::vector<int64_t> Dataset::chunk() const {
  PropList p(H5Dget_create_plist(id_), file_, name_);
  if (H5Pget_layout(p.id()) != H5D_CHUNKED) return {};
  hsize_t c[H5S_MAX_RANK];
  int r = H5Pget_chunk(p.id(), H5S_MAX_RANK, c);
  if (r < 0) fail("reading chunk shape");
  return std::vector<int64_t>(c, c + r);
}

int Dataset::deflate_level() const {
  PropList p(H5Dget_create_plist(id_), file_, name_);
  int n = H5Pget_nfilters(p.id());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, cd[8] = {0}, cfg = 0;
    size_t nelem = 8;
    char fname[64];
    H5Z_filter_t f = H5Pget_filter2(p.id(), unsigned(i), &flags, &nelem, cd, sizeof fname, fname, &cfg);
    if (f == H5Z_FILTER_DEFLATE) return nelem > 0 ? int(cd[0]) : 1;
  }
  return 0;
}

void Dataset::append_rows(const at::Tensor& t_in) {
  auto sh = shape();
  if (sh.empty()) fail("cannot append rows to a scalar dataset");
  if (int64_t(t_in.dim()) != int64_t(sh.size()))
    fail(cat("append of rank ", t_in.dim(), " to a dataset of rank ", sh.size()));
  for (size_t i = 1; i < sh.size(); ++i)
    if (t_in.size(int64_t(i)) != sh[i])
      fail(cat("append shape ", t_in.sizes(), " does not match dataset trailing dimension ", i, " = ", sh[i]));
  const int64_t n = t_in.size(0);
  if (n == 0) return;
  at::ScalarType st = scalar_type();
  at::Tensor t = t_in.to(at::kCPU).to(st).contiguous();
  std::vector<hsize_t> dims = to_hsize(sh), start(sh.size(), 0), count = to_hsize(sh);
  start[0] = dims[0];
  count[0] = hsize_t(n);
  dims[0] += hsize_t(n);
  if (H5Dset_extent(id_, dims.data()) < 0) fail("extending dataset");
  Dataspace fs(H5Dget_space(id_), file_, name_);
  if (H5Sselect_hyperslab(fs.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0)
    fail("selecting rows");
  Dataspace ms(H5Screate_simple(int(count.size()), count.data(), nullptr), file_, name_);
  if (H5Dwrite(id_, mem_type_of(st, file_, name_), ms.id(), fs.id(), H5P_DEFAULT, t.data_ptr()) < 0)
    fail(cat("writing rows ", start[0], "..", dims[0]));
}

void Dataset::append_strings(const std::vector<std::string>& s) {
  if (s.empty()) return;
  auto sh = shape();
  if (sh.size() != 1 || !is_string()) fail("append_strings needs a 1-D string dataset");
  std::vector<const char*> p;
  for (const auto& x : s) p.push_back(x.c_str());
  hsize_t start = hsize_t(sh[0]), count = hsize_t(s.size()), dims = start + count;
  if (H5Dset_extent(id_, &dims) < 0) fail("extending dataset");
  Dataspace fs(H5Dget_space(id_), file_, name_);
  if (H5Sselect_hyperslab(fs.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) < 0) fail("selecting rows");
  Dataspace ms(H5Screate_simple(1, &count, nullptr), file_, name_);
  if (H5Dwrite(id_, vlen_string_type(), ms.id(), fs.id(), H5P_DEFAULT, p.data()) < 0) fail("writing strings");
}

void Dataset::resize_rows(int64_t rows) {
  auto sh = shape();
  if (sh.empty()) fail("cannot resize a scalar dataset");
  std::vector<hsize_t> dims = to_hsize(sh);
  dims[0] = hsize_t(rows);
  if (H5Dset_extent(id_, dims.data()) < 0) fail(cat("resizing to ", rows, " rows"));
}

namespace {
// File and memory dataspaces selecting rows [begin, begin+count) of a dataset of shape sh.
std::pair<Dataspace, Dataspace> row_spaces(const Dataset& d, const std::vector<int64_t>& sh, int64_t begin,
                                           int64_t count) {
  Dataspace fs(H5Dget_space(d.id()), d.file(), d.name());
  if (sh.empty()) return {std::move(fs), Dataspace(H5Screate(H5S_SCALAR), d.file(), d.name())};
  std::vector<hsize_t> start(sh.size(), 0), cnt = to_hsize(sh);
  start[0] = hsize_t(begin);
  cnt[0] = hsize_t(count);
  if (H5Sselect_hyperslab(fs.id(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr) < 0)
    d.fail("selecting rows");
  Dataspace ms(H5Screate_simple(int(cnt.size()), cnt.data(), nullptr), d.file(), d.name());
  return {std::move(fs), std::move(ms)};
}

int64_t check_rows(const Dataset& d, const std::vector<int64_t>& sh, int64_t begin, int64_t& count) {
  int64_t n = sh.empty() ? 1 : sh[0];
  if (count < 0) count = n - begin;
  if (begin < 0 || begin + count > n)
    d.fail(cat("rows [", begin, ", ", begin + count, ") out of range (dataset has ", n, ")"));
  return n;
}
}  // namespace

at::Tensor Dataset::read_rows(int64_t begin, int64_t count) const {
  auto sh = shape();
  check_rows(*this, sh, begin, count);
  at::ScalarType st = scalar_type();
  std::vector<int64_t> out_shape = sh;
  if (!out_shape.empty()) out_shape[0] = count;
  at::Tensor out = at::empty(out_shape, at::TensorOptions().dtype(st));
  if (out.numel() == 0) return out;
  auto [fs, ms] = row_spaces(*this, sh, begin, count);
  if (H5Dread(id_, mem_type_of(st, file_, name_), ms.id(), fs.id(), H5P_DEFAULT, out.data_ptr()) < 0)
    fail(cat("reading rows [", begin, ", ", begin + count, ")"));
  return out;
}

std::vector<std::string> Dataset::read_strings(int64_t begin, int64_t count) const {
  auto sh = shape();
  if (sh.size() > 1) fail("read_strings needs a scalar or 1-D string dataset");
  check_rows(*this, sh, begin, count);
  Datatype t(H5Dget_type(id_), file_, name_);
  if (H5Tget_class(t.id()) != H5T_STRING) fail("not a string dataset");
  std::vector<std::string> out;
  if (count == 0) return out;
  auto [fs, ms] = row_spaces(*this, sh, begin, count);
  if (H5Tis_variable_str(t.id()) > 0) {
    std::vector<char*> buf(size_t(count), nullptr);
    if (H5Dread(id_, vlen_string_type(), ms.id(), fs.id(), H5P_DEFAULT, buf.data()) < 0) fail("reading strings");
    for (char* p : buf) out.emplace_back(p ? p : "");
    reclaim_strings(vlen_string_type(), ms.id(), buf.data());
  } else {
    size_t n = H5Tget_size(t.id());
    std::vector<char> buf(n * size_t(count) + 1, 0);
    Datatype mt(H5Tcopy(t.id()), file_, name_);
    if (H5Dread(id_, mt.id(), ms.id(), fs.id(), H5P_DEFAULT, buf.data()) < 0) fail("reading strings");
    for (int64_t i = 0; i < count; ++i) out.push_back(strip_fixed(buf.data() + size_t(i) * n, n));
  }
  return out;
}

std::string torch_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return "unsupported";
  }
}

}  // namespace dagalign::h5
