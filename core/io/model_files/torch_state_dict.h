/* torch_state_dict.h — from the value a torch.save pickle returns to named
 * tensors: the value must be a dict of str -> tensor; each tensor's bytes are
 * found through the format's storage lookup, checked against its shape,
 * strides and offset, and copied out contiguous. */
#ifndef JL_MODEL_FILES_TORCH_STATE_DICT_H
#define JL_MODEL_FILES_TORCH_STATE_DICT_H

#include "pickle_machine.h"

/* The bytes of storage s: *bytes, *nbytes, and *label naming it in messages
 * ("archive/data/3"). Fails (with a message) when the storage is missing. */
typedef int (*mf_storage_lookup)(void *ctx, const pk_storage *s, const uint8_t **bytes, uint64_t *nbytes,
                                 const char **label);

int mf_state_dict_collect(const pk_value *root, mf_storage_lookup lookup, void *ctx,
                          mf_result *r);

#endif
