// A VM disk image (qcow2, VMDK, VDI, VHDX) into a sparse raw file, by
// qemu-img confined to the two files, with progress.
#pragma once

#include "images/vm/format.hpp"

#include <functional>
#include <string>

namespace lodge::vm {

// Converts `disk` (already checked by probe_disk, which gave `info`) into a
// new sparse raw file at raw_path (which must not exist). The format is
// given to qemu explicitly and backing files are switched off whatever the
// image says. progress gets 0..100. On failure throws Error(400) with
// qemu-img's message and removes raw_path. A raw disk is not converted: the
// caller uses it as it is (Error 500 if asked).
void convert_to_raw(const std::string& disk, const DiskInfo& info, const std::string& raw_path,
                    const std::function<void(double percent)>& progress);

} // namespace lodge::vm
