# sc_project_target(target): the warning and language settings for the project's own code.
# Third-party headers come in as SYSTEM includes, so -Werror only judges our code.
function(sc_project_target target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${SC_WERROR}>>:-Werror>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>
    $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${SC_WERROR}>>:-Werror=all-warnings>)
endfunction()
