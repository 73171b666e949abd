/* pair_style mace/lizrcl: see pair_mace_lizrcl.h for the command syntax and the two graph modes. */

#include "pair_mace_lizrcl.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "utils.h"

#include <ATen/Parallel.h>

#include <sched.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace LAMMPS_NS;

namespace {

// Element symbols by atomic number (index 0 is a placeholder); used to turn the pair_coeff
// element list into atomic numbers and to name the model's elements in messages.
constexpr std::array<const char *, 119> kSymbols = {
    "X",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si",
    "P",  "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu",
    "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru",
    "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr",
    "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",
    "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac",
    "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf",
    "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

int atomic_number(const std::string &symbol)
{
  for (std::size_t z = 1; z < kSymbols.size(); ++z)
    if (symbol == kSymbols[z]) return static_cast<int>(z);
  return 0;
}

std::string symbol_of(int64_t z)
{
  if (z > 0 && z < static_cast<int64_t>(kSymbols.size())) return kSymbols[z];
  return "Z=" + std::to_string(z);
}

// Copy a host buffer into a fresh tensor of the requested dtype on `device` (one copy: on the
// CPU the dtype conversion, on a GPU the host-to-device transfer with the conversion).
torch::Tensor to_tensor(std::vector<double> &data, int64_t rows, int64_t cols, torch::Dtype dtype,
                        const torch::Device &device)
{
  if (rows == 0) return torch::zeros({0, cols}, torch::TensorOptions().dtype(dtype).device(device));
  auto view = torch::from_blob(data.data(), {rows, cols}, torch::TensorOptions().dtype(torch::kFloat64));
  return view.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
}

// Set by plugin_build.py from the torch wheel the plugin is compiled against; a hand build
// (CMakeLists.txt) may leave them out.
#ifndef LIZRCL_TORCH_VERSION
#define LIZRCL_TORCH_VERSION "unknown"
#endif
#ifndef LIZRCL_TORCH_CUDA
#define LIZRCL_TORCH_CUDA "unknown"
#endif

// Why torch offers no CUDA device here, for the error and log messages.
std::string no_cuda_reason()
{
  const std::string version = LIZRCL_TORCH_VERSION;
  const std::string cuda = LIZRCL_TORCH_CUDA;
  if (cuda.empty())
    return fmt::format("torch {} is a CPU-only build; install a CUDA build of torch and rebuild "
                       "the plugin ('lizrcl plugin build')",
                       version);
  if (cuda == "unknown")
    return fmt::format("torch {}: torch::cuda::is_available() is false (a CPU-only build, or no "
                       "GPU/driver visible)",
                       version);
  return fmt::format("torch {} is built with CUDA {} but torch::cuda::is_available() is false: "
                     "no GPU or driver visible to this process (check nvidia-smi and "
                     "CUDA_VISIBLE_DEVICES)",
                     version, cuda);
}

// Call add_edge(i, j) for every pair in the neighbour lists of the first n_centres entries
// of list->ilist that lies inside the model cutoff (the list itself reaches cutoff + skin).
template <typename AddEdge>
void for_each_edge(const NeighList *list, int n_centres, double **x, double r_max_sq,
                   AddEdge &&add_edge)
{
  for (int ii = 0; ii < n_centres; ++ii) {
    const int i = list->ilist[ii];
    const int *jlist = list->firstneigh[i];
    const int jnum = list->numneigh[i];
    for (int jj = 0; jj < jnum; ++jj) {
      const int j = jlist[jj] & NEIGHMASK;
      const double dx = x[j][0] - x[i][0];
      const double dy = x[j][1] - x[i][1];
      const double dz = x[j][2] - x[i][2];
      if (dx * dx + dy * dy + dz * dz >= r_max_sq) continue;
      add_edge(i, j);
    }
  }
}

}    // namespace

/* ---------------------------------------------------------------------- */

Pair *LAMMPS_NS::lizrcl_new_pair_mace(LAMMPS *lmp)
{
  return new PairMACELizrcl(lmp);
}

PairMACELizrcl::PairMACELizrcl(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  // The model returns the virial as -dE/d(strain); a pairwise f.r sum would be wrong for a
  // many-body graph with mapped periodic images.
  no_virial_fdotr_compute = 1;
}

PairMACELizrcl::~PairMACELizrcl()
{
  if (profile && profile_calls > 0 && comm->me == 0) {
    const double ms = 1000.0 / static_cast<double>(profile_calls);
    std::fprintf(stderr,
                 "mace/lizrcl profile: %ld calls (%ld with virial), %.0f edges/call, ms/call: "
                 "graph %.2f, inputs %.2f, forward %.2f, outputs %.2f\n",
                 profile_calls, profile_virial_calls,
                 profile_edges / static_cast<double>(profile_calls), t_graph * ms,
                 t_inputs * ms, t_forward * ms, t_outputs * ms);
  }
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(cutghost);
  }
}

void PairMACELizrcl::allocate()
{
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  memory->create(cutghost, n + 1, n + 1, "pair:cutghost");
  for (int i = 1; i <= n; ++i)
    for (int j = i; j <= n; ++j) setflag[i][j] = 0;
}

/* ---------------------------------------------------------------------- */

void PairMACELizrcl::settings(int narg, char **arg)
{
  requested_mode = Mode::AUTO;
  bool mode_given = false;
  std::string request = "cpu";
  bool device_given = false;
  for (int iarg = 0; iarg < narg; ++iarg) {
    const std::string word = arg[iarg];
    if (word == "no_domain_decomposition" || word == "domain_decomposition") {
      if (mode_given)
        error->all(FLERR, "pair_style mace/lizrcl: graph mode given twice (second: '{}')", word);
      mode_given = true;
      requested_mode = word == "domain_decomposition" ? Mode::GHOST : Mode::SINGLE;
    } else if (word == "device") {
      if (iarg + 1 >= narg)
        error->all(FLERR, "pair_style mace/lizrcl: keyword 'device' needs a value: cpu, cuda or auto");
      if (device_given) error->all(FLERR, "pair_style mace/lizrcl: keyword 'device' given twice");
      device_given = true;
      request = arg[++iarg];
      if (request != "cpu" && request != "cuda" && request != "auto")
        error->all(FLERR,
                   "pair_style mace/lizrcl: unknown device '{}' (known: cpu, cuda, auto)", request);
    } else {
      error->all(FLERR,
                 "Unknown pair_style mace/lizrcl keyword '{}' (known: no_domain_decomposition, "
                 "domain_decomposition, device cpu|cuda|auto)",
                 word);
    }
  }
  select_device(request);
}

int PairMACELizrcl::node_local_rank()
{
  // Ranks that share memory share a node (MPI-3); unlike launcher variables
  // (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, ...) this holds under any launcher.
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &node);
  int rank = 0;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return rank;
}

void PairMACELizrcl::select_device(const std::string &request)
{
  // Collective over the partition, so called by every rank before any rank can stop below.
  const int local_rank = request != "cpu" ? node_local_rank() : 0;
  const bool cuda = request != "cpu" && torch::cuda::is_available();
  // error->one: whether a GPU is visible is a property of each process, not of the input.
  if (request == "cuda" && !cuda)
    error->one(FLERR, "pair_style mace/lizrcl device cuda: no CUDA device for torch: {}",
               no_cuda_reason());
  if (cuda) {
    const int n_devices = static_cast<int>(torch::cuda::device_count());
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % n_devices));
    if (comm->me == 0)
      utils::logmesg(lmp,
                     "mace/lizrcl: device {} -> cuda ({} CUDA device(s) visible; each MPI rank "
                     "uses cuda:(node-local rank % {}); rank 0 on {})\n",
                     request, n_devices, n_devices, device.str());
  } else {
    device = torch::Device(torch::kCPU);
    if (comm->me == 0) {
      if (request == "auto")
        utils::logmesg(lmp, "mace/lizrcl: device auto -> cpu ({})\n", no_cuda_reason());
      else
        utils::logmesg(lmp, "mace/lizrcl: device cpu\n");
    }
  }
  device_request = request;
  // pair_style given again after pair_coeff keeps the loaded model: move it.
  if (model_loaded) model.to(device);
}

/* ---------------------------------------------------------------------- */

void PairMACELizrcl::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes)
    error->all(FLERR,
               "pair_coeff for mace/lizrcl needs '* * MODEL' and one element per atom type: "
               "{} types, so {} arguments, got {}",
               ntypes, 3 + ntypes, narg);
  if (std::string(arg[0]) != "*" || std::string(arg[1]) != "*")
    error->all(FLERR, "pair_coeff for mace/lizrcl must start with '* *', got '{} {}'", arg[0],
               arg[1]);

  model_file = arg[2];
  if (!platform::file_is_readable(model_file))
    error->all(FLERR, "MACE model file '{}' does not exist or is not readable", model_file);
  try {
    model = torch::jit::load(model_file, device);
  } catch (const c10::Error &exc) {
    error->all(FLERR,
               "Cannot load MACE model file '{}' as TorchScript (export it first with "
               "'lizrcl export'): {}",
               model_file, exc.what_without_backtrace());
  }
  model.eval();
  // LAMMPS sets OpenMP to one thread when OMP_NUM_THREADS is unset, and torch's intra-op pool
  // follows it: a plain `lmp -in` ran the model ~4x slower than `lizrcl md`. Without an explicit
  // OMP_NUM_THREADS, give torch the usable cores divided among the MPI ranks (one node).
  if (!std::getenv("OMP_NUM_THREADS")) {
    int cores = 1;
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof(mask), &mask) == 0) cores = std::max(1, CPU_COUNT(&mask));
    const int threads = std::max(1, cores / std::max(1, comm->nprocs));
    at::set_num_threads(threads);
    if (comm->me == 0)
      utils::logmesg(lmp,
                     "mace/lizrcl: OMP_NUM_THREADS unset: {} torch thread(s) per rank "
                     "({} usable cores / {} ranks)\n",
                     threads, cores, comm->nprocs);
  }
  // TorchScript's profiling executor re-specialises the graph when tensor shapes change,
  // and the edge count changes every step; LIZRCL_JIT_OPTIMIZE=0 turns that off.
  const char *jit_opt = std::getenv("LIZRCL_JIT_OPTIMIZE");
  if (jit_opt && std::string(jit_opt) == "0") torch::jit::setGraphExecutorOptimize(false);
  const char *prof = std::getenv("LIZRCL_PAIR_PROFILE");
  profile = prof && std::string(prof) == "1";

  // The dtype of the first floating-point parameter is the dtype the export used.
  bool found_dtype = false;
  for (const auto &param : model.parameters()) {
    if (param.is_floating_point()) {
      model_dtype = param.scalar_type();
      found_dtype = true;
      break;
    }
  }
  if (!found_dtype || (model_dtype != torch::kFloat64 && model_dtype != torch::kFloat32))
    error->all(FLERR, "MACE model file '{}' has no float32/float64 parameters", model_file);

  if (!model.hasattr("r_max") || !model.hasattr("atomic_numbers") ||
      !model.hasattr("num_interactions"))
    error->all(FLERR,
               "MACE model file '{}' lacks the r_max/atomic_numbers/num_interactions buffers of "
               "mace's LAMMPS export",
               model_file);
  r_max = model.attr("r_max").toTensor().item<double>();
  r_max_sq = r_max * r_max;
  num_interactions = model.attr("num_interactions").toTensor().item<int64_t>();
  auto z_tensor =
      model.attr("atomic_numbers").toTensor().to(torch::kCPU, torch::kInt64).contiguous();
  model_z.assign(z_tensor.data_ptr<int64_t>(), z_tensor.data_ptr<int64_t>() + z_tensor.numel());

  std::string model_elements;
  for (auto z : model_z) model_elements += (model_elements.empty() ? "" : " ") + symbol_of(z);

  type_column.assign(ntypes + 1, -1);
  for (int t = 1; t <= ntypes; ++t) {
    const std::string symbol = arg[2 + t];
    if (symbol == "NULL")
      error->all(FLERR,
                 "pair_coeff element 'NULL' for atom type {}: mace/lizrcl needs every type "
                 "mapped to an element of '{}' ({})",
                 t, model_file, model_elements);
    const int z = atomic_number(symbol);
    if (z == 0)
      error->all(FLERR, "pair_coeff element '{}' for atom type {} is not an element symbol",
                 symbol, t);
    auto it = std::find(model_z.begin(), model_z.end(), static_cast<int64_t>(z));
    if (it == model_z.end())
      error->all(FLERR,
                 "Element '{}' (atom type {}) is not in MACE model file '{}', which knows: {}",
                 symbol, t, model_file, model_elements);
    type_column[t] = static_cast<int>(it - model_z.begin());
  }

  for (int i = 1; i <= ntypes; ++i)
    for (int j = i; j <= ntypes; ++j) setflag[i][j] = 1;
  model_loaded = true;

  if (comm->me == 0) {
    std::string mapping;
    for (int t = 1; t <= ntypes; ++t) mapping += fmt::format(" {}->{}", t, arg[2 + t]);
    utils::logmesg(lmp,
                   "mace/lizrcl: model '{}' ({}, r_max {} A, {} interactions, elements {}) "
                   "on {}; types{}\n",
                   model_file, model_dtype == torch::kFloat64 ? "float64" : "float32", r_max,
                   num_interactions, model_elements, device.str(), mapping);
  }
}

/* ---------------------------------------------------------------------- */

void PairMACELizrcl::init_style()
{
  if (!model_loaded) error->all(FLERR, "pair_style mace/lizrcl needs a pair_coeff line first");
  if (atom->tag_enable == 0) error->all(FLERR, "pair_style mace/lizrcl needs atom IDs");

  if (requested_mode == Mode::SINGLE && comm->nprocs > 1)
    error->all(FLERR,
               "pair_style mace/lizrcl no_domain_decomposition works on 1 MPI rank only "
               "(running on {}); drop the keyword to use the ghost-node mode",
               comm->nprocs);
  ghost_nodes = requested_mode == Mode::GHOST ||
      (requested_mode == Mode::AUTO && comm->nprocs > 1);

  if (ghost_nodes) {
    if (force->newton_pair == 0)
      error->all(FLERR,
                 "pair_style mace/lizrcl in domain-decomposition mode needs 'newton on' "
                 "(forces on ghost atoms are reverse-communicated)");
    // Neighbours of ghosts are needed so that messages reach local atoms through ghosts.
    ghostneigh = 1;
    neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_GHOST);
  } else {
    ghostneigh = 0;
    neighbor->add_request(this, NeighConst::REQ_FULL);
  }
  if (comm->me == 0)
    utils::logmesg(lmp, "mace/lizrcl: {} mode\n",
                   ghost_nodes ? "ghost-node (domain decomposition)" : "single-rank");
}

double PairMACELizrcl::init_one(int i, int j)
{
  if (!ghost_nodes) return r_max;
  // Ghost atoms must reach num_interactions * r_max so that every message arriving at a
  // local atom starts from a complete neighbourhood; neighbours of ghosts need only r_max.
  cutghost[i][j] = cutghost[j][i] = r_max;
  return static_cast<double>(num_interactions) * r_max;
}

/* ---------------------------------------------------------------------- */

void PairMACELizrcl::build_single_rank_graph(Graph &g)
{
  const int nlocal = atom->nlocal;
  double **x = atom->x;
  tagint *tag = atom->tag;

  // Every ghost on a single rank is a periodic image of a local atom with the same ID.
  tagint max_tag = 0;
  for (int i = 0; i < nlocal; ++i) max_tag = std::max(max_tag, tag[i]);
  std::vector<int> owner(max_tag + 1, -1);
  for (int i = 0; i < nlocal; ++i) owner[tag[i]] = i;

  g.n_nodes = nlocal;
  g.positions.resize(3 * static_cast<std::size_t>(nlocal));
  for (int i = 0; i < nlocal; ++i)
    for (int k = 0; k < 3; ++k) g.positions[3 * i + k] = x[i][k];

  const double *h = domain->h;
  const double *h_inv = domain->h_inv;
  for_each_edge(list, list->inum, x, r_max_sq, [&](int i, int j) {
    const int jo = j < nlocal ? j : (tag[j] <= max_tag ? owner[tag[j]] : -1);
    if (jo < 0)
      error->one(FLERR, "mace/lizrcl: ghost atom with ID {} has no local owner", tag[j]);
    // Each periodic image is its own edge: in small cells one atom sees several images of
    // the same neighbour (or of itself), each with a different integer shift.
    const double sx = x[j][0] - x[jo][0];
    const double sy = x[j][1] - x[jo][1];
    const double sz = x[j][2] - x[jo][2];
    const double na = std::round(h_inv[0] * sx + h_inv[5] * sy + h_inv[4] * sz);
    const double nb = std::round(h_inv[1] * sy + h_inv[3] * sz);
    const double nc = std::round(h_inv[2] * sz);
    g.senders.push_back(i);
    g.receivers.push_back(jo);
    g.unit_shifts.insert(g.unit_shifts.end(), {na, nb, nc});
    g.shifts.insert(g.shifts.end(),
                    {h[0] * na + h[5] * nb + h[4] * nc, h[1] * nb + h[3] * nc, h[2] * nc});
  });
}

void PairMACELizrcl::build_ghost_node_graph(Graph &g)
{
  const int nall = atom->nlocal + atom->nghost;
  double **x = atom->x;
  g.n_nodes = nall;
  g.positions.resize(3 * static_cast<std::size_t>(nall));
  for (int i = 0; i < nall; ++i)
    for (int k = 0; k < 3; ++k) g.positions[3 * i + k] = x[i][k];

  // Ghost atoms are explicit nodes, so every edge has zero shift.
  for_each_edge(list, list->inum + list->gnum, x, r_max_sq, [&](int i, int j) {
    g.senders.push_back(i);
    g.receivers.push_back(j);
  });
  g.shifts.assign(3 * g.senders.size(), 0.0);
  g.unit_shifts.assign(3 * g.senders.size(), 0.0);
}

torch::Tensor PairMACELizrcl::node_attributes(int n_nodes)
{
  const int64_t n_elem = static_cast<int64_t>(model_z.size());
  std::vector<double> onehot(static_cast<std::size_t>(n_nodes) * n_elem, 0.0);
  const int *type = atom->type;
  for (int i = 0; i < n_nodes; ++i) onehot[i * n_elem + type_column[type[i]]] = 1.0;
  return to_tensor(onehot, n_nodes, n_elem, model_dtype, device);
}

/* ---------------------------------------------------------------------- */

void PairMACELizrcl::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  if (vflag_atom)
    error->all(FLERR,
               "pair_style mace/lizrcl gives no per-atom virial (asked for by a compute or fix "
               "such as stress/atom)");

  if (ghost_nodes && list->gnum != atom->nghost)
    error->all(FLERR, "mace/lizrcl: neighbour list has {} ghosts with neighbours, expected {}",
               list->gnum, atom->nghost);

  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  const auto t0 = clock::now();
  Graph g;
  if (ghost_nodes)
    build_ghost_node_graph(g);
  else
    build_single_rank_graph(g);
  const int n_nodes = g.n_nodes;
  const int nlocal = atom->nlocal;
  const int64_t n_edges = static_cast<int64_t>(g.senders.size());

  const auto f_opts = torch::TensorOptions().dtype(model_dtype).device(device);
  const auto i_host = torch::TensorOptions().dtype(torch::kInt64);
  const auto i_opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const auto t1 = clock::now();

  // Inputs are assembled on the host and each copied to the device once.
  std::vector<int64_t> edges(g.senders);
  edges.insert(edges.end(), g.receivers.begin(), g.receivers.end());
  auto edge_index = n_edges > 0
      ? torch::from_blob(edges.data(), {2, n_edges}, i_host).to(device, torch::kInt64, false, true)
      : torch::zeros({2, 0}, i_opts);

  // Cell rows are the LAMMPS box vectors a, b, c, so that shifts = unit_shifts @ cell.
  const double *h = domain->h;
  std::vector<double> cell_rows = {h[0], 0.0, 0.0, h[5], h[1], 0.0, h[4], h[3], h[2]};

  std::vector<double> local_mask(n_nodes, 0.0);
  std::fill(local_mask.begin(), local_mask.begin() + nlocal, 1.0);

  c10::Dict<std::string, torch::Tensor> input;
  input.insert("positions", to_tensor(g.positions, n_nodes, 3, model_dtype, device));
  input.insert("node_attrs", node_attributes(n_nodes));
  input.insert("edge_index", edge_index);
  input.insert("shifts", to_tensor(g.shifts, n_edges, 3, model_dtype, device));
  input.insert("unit_shifts", to_tensor(g.unit_shifts, n_edges, 3, model_dtype, device));
  input.insert("cell", to_tensor(cell_rows, 3, 3, model_dtype, device));
  input.insert("batch", torch::zeros({n_nodes}, i_opts));
  input.insert("ptr", torch::tensor({int64_t(0), int64_t(n_nodes)}, i_host).to(device));
  input.insert("weight", torch::ones({1}, f_opts));

  auto mask = to_tensor(local_mask, n_nodes, 1, model_dtype, device).reshape({n_nodes});
  const bool want_virial = vflag_global != 0;

  const auto t2 = clock::now();
  c10::impl::GenericDict output(c10::StringType::get(), c10::TensorType::get());
  try {
    output = model.forward({input, mask, want_virial}).toGenericDict();
  } catch (const c10::Error &exc) {
    error->one(FLERR, "MACE model '{}' failed on {}: {}", model_file, device.str(),
               exc.what_without_backtrace());
  }
  // Kernels run asynchronously on a GPU: wait, so the profile charges them to forward.
  if (profile && device.is_cuda()) torch::cuda::synchronize(device.index());
  const auto t3 = clock::now();

  // Results come back to the host as float64 (a no-op for a float64 model on the CPU).
  auto forces = output.at("forces").toTensor().to(torch::kCPU, torch::kFloat64).contiguous();
  const double *fp = forces.data_ptr<double>();
  double **f = atom->f;
  // Ghost-node mode: forces on ghosts are summed onto their owners by reverse communication.
  for (int i = 0; i < n_nodes; ++i) {
    f[i][0] += fp[3 * i + 0];
    f[i][1] += fp[3 * i + 1];
    f[i][2] += fp[3 * i + 2];
  }

  if (eflag_global) eng_vdwl += output.at("total_energy_local").toTensor().item<double>();

  if (eflag_atom) {
    auto node_energy =
        output.at("node_energy").toTensor().to(torch::kCPU, torch::kFloat64).contiguous();
    const double *ep = node_energy.data_ptr<double>();
    for (int i = 0; i < nlocal; ++i) eatom[i] += ep[i];
  }

  if (want_virial) {
    auto vir = output.at("virials")
                   .toTensor()
                   .to(torch::kCPU, torch::kFloat64)
                   .reshape({3, 3})
                   .contiguous();
    const double *v = vir.data_ptr<double>();
    virial[0] += v[0];
    virial[1] += v[4];
    virial[2] += v[8];
    virial[3] += 0.5 * (v[1] + v[3]);
    virial[4] += 0.5 * (v[2] + v[6]);
    virial[5] += 0.5 * (v[5] + v[7]);
  }
  if (profile) {
    const auto t4 = clock::now();
    ++profile_calls;
    if (want_virial) ++profile_virial_calls;
    profile_edges += static_cast<double>(n_edges);
    t_graph += seconds(t0, t1);
    t_inputs += seconds(t1, t2);
    t_forward += seconds(t2, t3);
    t_outputs += seconds(t3, t4);
  }
}
