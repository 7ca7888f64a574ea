/* Linked into every program of the asan preset (CMakeLists.txt): dlclose()
 * leaves libraries mapped. LeakSanitizer finds live blocks through pointers
 * in loaded modules' globals; when the Vulkan loader unloads a driver or
 * layer (lavapipe, the validation layer) at vkDestroyInstance, the blocks
 * those globals still point to are reported as leaks of "<unknown module>"
 * that nobody can suppress by name or fix. Keeping them loaded makes those
 * reports go away and leaves every real leak visible, with its library's
 * name, for tests/sanitizers/lsan.supp or for a fix. */
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
