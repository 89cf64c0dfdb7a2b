# bash completion for w2wesher(1)                          -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Installed as <datadir>/bash-completion/completions/w2wesher, where
# bash-completion loads it on first use. The command list and each command's
# options are read from the tool's own --help, so a new subcommand or option
# completes without editing this file; only the second-level verbs are listed
# here (docs/cli.md).

_w2wesher_commands()
{
	"$1" --help 2>/dev/null | awk '/^commands:/ {f = 1; next} f && /^  [a-z]/ {print $1}'
}

_w2wesher_options()
{
	"$1" "$2" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u
}

_w2wesher()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local prog=${words[0]}

	if ((cword == 1)); then
		COMPREPLY=($(compgen -W "$(_w2wesher_commands "$prog") help --help --version" -- "$cur"))
		return
	fi
	local cmd=${words[1]}

	case $prev in
	--config | --key | --swarm-key | --wireguard-go)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--uapi-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--interface)
		local socks=(/run/w2wesher/*.sock)
		socks=("${socks[@]##*/}")
		socks=("${socks[@]%.sock}")
		[[ ${socks[0]} == "*" ]] && socks=()
		COMPREPLY=($(compgen -W "${socks[*]}" -- "$cur"))
		return
		;;
	--backend)
		COMPREPLY=($(compgen -W "auto kernel userspace" -- "$cur"))
		return
		;;
	--msgid)
		COMPREPLY=($(compgen -W "go js" -- "$cur"))
		return
		;;
	esac

	if ((cword == 2)); then
		case $cmd in
		help)
			COMPREPLY=($(compgen -W "$(_w2wesher_commands "$prog")" -- "$cur"))
			return
			;;
		config)
			COMPREPLY=($(compgen -W "check init" -- "$cur"))
			return
			;;
		wg)
			COMPREPLY=($(compgen -W "show showconf syncconf" -- "$cur"))
			return
			;;
		p2p)
			COMPREPLY=($(compgen -W "ping listen" -- "$cur"))
			return
			;;
		esac
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_w2wesher_options "$prog" "$cmd") --help" -- "$cur"))
		return
	fi
	case $cmd in
	config | genpsk)
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	wg)
		if [[ ${words[2]} == syncconf ]] && ((cword == 4)); then
			COMPREPLY=($(compgen -f -- "$cur"))
		elif ((cword == 3)); then
			local ifs
			ifs=$(ip -o link show type wireguard 2>/dev/null | awk -F': ' '{print $2}')
			COMPREPLY=($(compgen -W "$ifs" -- "$cur"))
		fi
		;;
	esac
} && complete -F _w2wesher w2wesher

# ex: filetype=sh
