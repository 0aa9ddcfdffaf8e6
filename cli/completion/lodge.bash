# bash completion for lodge, the lodged command-line client.
# Install as /usr/share/bash-completion/completions/lodge (or source it).
# Verbs and flags are listed here; remote, profile and pool names are asked
# of lodge itself (--format csv) so they follow config.yml and the server.

_lodge_remotes() {
    lodge remote list --format csv 2>/dev/null | cut -d, -f1 | sed 's/ (current)$//'
}

_lodge_names() { # $1: "profile", "storage", "network" or "image alias"
    lodge $1 list --format csv 2>/dev/null | cut -d, -f1
}

_lodge_instances() {
    lodge list --format csv -c n 2>/dev/null
}

_lodge() {
    local cur prev verb sub subsub i
    local -a words
    local cword
    COMPREPLY=()
    # bash splits "local:" at the colon (COMP_WORDBREAKS); bash-completion's
    # helper puts such words back together when it is loaded.
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n : cur prev words cword
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur="${words[cword]}" prev="${words[cword-1]}"
    fi

    local verbs="audit config image info list ls migrate network profile remote storage version help"
    local -A subverbs=(
        [config]="device get set show unset trust"
        [image]="alias delete rm import import-vm info list ls show"
        [network]="attach attach-profile create delete rm detach detach-profile edit get info list ls list-leases rename mv set show unset"
        [profile]="add assign apply copy cp create delete rm device edit get list ls remove rename mv set show unset"
        [remote]="add get-default list ls remove rm rename mv switch set-default"
        [storage]="create delete rm get info list ls set show unset volume"
    )

    # The verb and sub-verb typed so far (flags skipped).
    verb="" sub="" subsub=""
    for ((i = 1; i < cword; i++)); do
        case "${words[i]}" in
        -*) ;;
        *)
            if [[ -z $verb ]]; then verb="${words[i]}"
            elif [[ -z $sub && -n ${subverbs[$verb]} ]]; then sub="${words[i]}"
            elif [[ -z $subsub && ("$verb $sub" == "image alias" || "$verb $sub" == "storage volume" ||
                "$verb $sub" == "config device" || "$verb $sub" == "profile device") ]]; then
                subsub="${words[i]}"
            fi
            ;;
        esac
    done

    case "$prev" in
    --format | -f)
        COMPREPLY=($(compgen -W "table compact csv json yaml" -- "$cur"))
        return
        ;;
    --columns | -c)
        return # free-form: shorthand characters or config keys
        ;;
    esac

    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur"))
        return
    fi
    if [[ -n ${subverbs[$verb]} && -z $sub ]]; then
        COMPREPLY=($(compgen -W "${subverbs[$verb]} --help" -- "$cur"))
        return
    fi

    if [[ "$verb $sub" == "image alias" && -z $subsub ]]; then
        COMPREPLY=($(compgen -W "create delete rm list ls --help" -- "$cur"))
        return
    fi

    if [[ "$verb $sub" == "config device" && -z $subsub ]]; then
        COMPREPLY=($(compgen -W "add get list ls override remove rm set show unset --help" -- "$cur"))
        return
    fi

    if [[ "$verb $sub" == "profile device" && -z $subsub ]]; then
        COMPREPLY=($(compgen -W "add get list ls remove rm set show unset --help" -- "$cur"))
        return
    fi

    if [[ "$verb $sub" == "storage volume" && -z $subsub ]]; then
        COMPREPLY=($(compgen -W "attach create delete rm detach get info list ls rename restore set show snapshot unset --help" -- "$cur"))
        return
    fi

    local before_prev="${words[cword-2]}" # read before `words` becomes the candidates
    local flags="--help"
    local words=""
    case "$verb $sub" in
    "list "* | "ls "*)
        flags="--columns --format --fast --help"
        words="$(_lodge_remotes | sed 's/$/:/')"
        ;;
    "info "* | "version "* | "config show")
        words="$(_lodge_remotes | sed 's/$/:/')"
        ;;
    "remote list" | "remote ls")
        flags="--format --help"
        ;;
    "remote switch" | "remote set-default" | "remote remove" | "remote rm" | "remote rename" | "remote mv")
        words="$(_lodge_remotes)"
        ;;
    "remote add")
        flags="--protocol --public --token --accept-certificate --help"
        ;;
    "config trust")
        words="add list ls remove rm"
        ;;
    "profile list" | "profile ls" | "storage list" | "storage ls")
        flags="--format --help"
        words="$(_lodge_remotes | sed 's/$/:/')"
        ;;
    "profile show" | "profile edit" | "profile get" | "profile set" | "profile unset" | "profile delete" | \
        "profile rm" | "profile rename" | "profile mv" | "profile copy" | "profile cp")
        # The profile comes first.
        [[ $prev == "$sub" ]] && words="$(_lodge_names profile)"
        [[ $sub == copy || $sub == cp ]] && flags="--target-project --help"
        ;;
    "profile add" | "profile remove" | "profile assign" | "profile apply")
        # The instance, then the profile.
        [[ $prev != "$sub" ]] && words="$(_lodge_names profile)"
        ;;
    "profile device")
        # The profile comes first.
        [[ $prev == "$subsub" ]] && words="$(_lodge_names profile)"
        ;;
    "storage show" | "storage info" | "storage get" | "storage set" | "storage unset" | "storage delete" | "storage rm")
        words="$(_lodge_names storage)"
        ;;
    "storage volume")
        case "$subsub" in
        list | ls) flags="--columns --format --all-projects --help" ;;
        create) flags="--type --description --help" ;;
        snapshot) flags="--no-expiry --reuse --help" ;;
        esac
        # The pool comes first.
        [[ $prev == "$subsub" ]] && words="$(_lodge_names storage)"
        ;;
    "network list" | "network ls")
        flags="--format --help"
        words="$(_lodge_remotes | sed 's/$/:/')"
        ;;
    "network create")
        flags="--type --description --help"
        ;;
    "network show" | "network edit" | "network get" | "network set" | "network unset" | "network delete" | \
        "network rm" | "network rename" | "network mv" | "network info" | "network list-leases")
        # The network comes first.
        [[ $prev == "$sub" ]] && words="$(_lodge_names network)"
        [[ $sub == list-leases ]] && flags="--format --help"
        ;;
    "network attach" | "network detach" | "network attach-profile" | "network detach-profile")
        # The network, then the instance or profile.
        if [[ $prev == "$sub" ]]; then words="$(_lodge_names network)"
        elif [[ $before_prev == "$sub" ]]; then
            [[ $sub == *-profile ]] && words="$(_lodge_names profile)" || words="$(_lodge_instances)"
        fi
        ;;
    "image list" | "image ls")
        flags="--format --help"
        words="$(_lodge_remotes | sed 's/$/:/')"
        ;;
    "image info" | "image show" | "image delete" | "image rm")
        words="$(_lodge_names 'image alias')"
        ;;
    "image alias")
        case "$subsub" in
        list | ls) flags="--format --help" ;;
        delete | rm) words="$(_lodge_names 'image alias')" ;;
        create) flags="--description --help" ;;
        esac
        ;;
    "image import")
        flags="--alias --public --help"
        words="$(compgen -f -- "$cur")"
        ;;
    "image import-vm")
        flags="--alias --property --public --dry-run --keep-network --keep-machine-id --force --help"
        words="$(compgen -f -- "$cur")"
        ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        # "local:" is complete as typed; no space after the colon.
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
        declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
    fi
}

complete -F _lodge lodge
