// Image templates (metadata.yaml's `templates:`), applied to an instance's
// files as LXD applies them: on create, copy and start, each template whose
// `when` names the trigger renders templates/<template> into its target
// path inside rootfs/.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace lodge::daemon {

// What templates see of the instance ({{ container.* }}, {{ instance.* }},
// config_get()).
struct TemplateInstance {
    std::string name;
    std::string architecture; // "x86_64"
    bool privileged = false;
    bool ephemeral = false;
    std::string type = "container";
    std::map<std::string, std::string> config; // the expanded config
};

// Applies the templates of instance_dir (rootfs/, metadata.yaml,
// templates/) for trigger "create", "copy" or "start"; returns the targets
// written ("/etc/hostname"), in metadata order. No metadata.yaml: nothing to
// do. Nothing from the image is trusted: metadata.yaml, rootfs/ and
// templates/ must not be symlinks, metadata.yaml and each template are size
// limited, template names stay inside templates/ (no "..", no absolute
// names, no symlinks), targets stay inside rootfs/ (no ".."; symlinks are
// resolved inside rootfs/ as the container sees them) and must be regular
// files. A bad template is an Error(400) naming it; templates applied
// before it stay applied (as with LXD).
std::vector<std::string> apply_templates(const std::string& instance_dir, const std::string& trigger,
                                         const TemplateInstance& instance);

} // namespace lodge::daemon
