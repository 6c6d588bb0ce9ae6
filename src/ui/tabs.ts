/** Keyboard support shared by tab lists (WAI-ARIA Authoring Practices, tabs pattern). */

/**
 * The ARIA tabs pattern's keys (roving tabindex, automatic activation): the index of the tab that
 * `key` moves to from tab `index` of `count`, or null when the key is not one of the pattern's.
 */
export function tabKeyTarget(key: string, index: number, count: number): number | null {
  switch (key) {
    case 'ArrowRight':
      return (index + 1) % count;
    case 'ArrowLeft':
      return (index - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
