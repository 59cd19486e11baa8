/* Reader for PyTorch checkpoints as torch.save writes them since 1.6: a zip
 * archive (stored, not compressed) holding <prefix>/data.pkl, a pickle that
 * describes the state_dict, and <prefix>/data/<key> raw storages.
 *
 * The pickle is run by a bounded interpreter that knows only what state_dicts
 * use: dicts, OrderedDict, tuples, lists, strings, ints, floats, bools, None,
 * torch._utils._rebuild_tensor_v2 (and _rebuild_parameter), persistent storage
 * ids, FloatStorage/HalfStorage/BFloat16Storage/DoubleStorage (+ Long/Int/Bool
 * storages, whose tensors are skipped: num_batches_tracked), views with offsets
 * and strides. Anything else is an error, never a crash. */
#ifndef CX_PTH_H
#define CX_PTH_H
#include "runtime/common.h"

/* Reads the checkpoint at path into out (float32, contiguous, owned).
 * If the top-level object is a dict holding the state_dict under "state_dict"
 * or "model", that is used; a leading "module." is stripped from every key.
 * Non-float tensors (int64 num_batches_tracked, ...) are skipped.
 * On error returns non-OK, out is left empty, and err holds the problem
 * (without the path; the caller prefixes it). */
cortex_status cx_pth_read_file(const char *path, cx_tdict *out, char *err, size_t errlen);
cortex_status cx_pth_read_memory(const void *data, size_t size, cx_tdict *out, char *err, size_t errlen);
#endif
