// The informer's cache, as client-go's thread_safe_store: objects by key, plus indexes that answer
// "which objects have this value" (which GalleryShares name this gallery, which SharedImageVMs
// reference this TenantGrant) as a lookup instead of a scan over every object. An index function
// gives each object its values (none, one or several); every add, update and delete updates the
// entries of the object it changes, so an index is never rebuilt after it is added.

/** The values an object is filed under in one index (client-go's IndexFunc). */
export type IndexFunc<T> = (obj: T) => string[];

export class IndexedStore<T> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** Index name -> index value -> keys of the objects filed under it. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  /**
   * onIndexError hears of an index function that threw; the object is then filed under no value
   * of that index rather than leaving the store half updated.
   */
  constructor(private readonly onIndexError: (index: string, key: string, err: unknown) => void = () => {}) {}

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Adds or replaces the object at key; returns the one it replaced. */
  set(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    this.updateIndices(key, old, obj);
    return old;
  }

  /** Removes the object at key; returns it. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.items.delete(key);
    this.updateIndices(key, old, undefined);
    return old;
  }

  /** Adds an index, filing the objects already stored; a name holds one index function. */
  addIndex(name: string, indexFunc: IndexFunc<T>): void {
    // Two controllers may need the same index on a shared cache: the same function again is fine.
    if (this.indexers.get(name) === indexFunc) return;
    if (this.indexers.has(name)) throw new Error(`index ${name} already exists with another function`);
    this.indexers.set(name, indexFunc);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.items) this.file(name, key, this.valuesOf(name, key, obj));
  }

  /** The objects filed under value in the named index (client-go's ByIndex). */
  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((key) => this.items.get(key)!);
  }

  /** The keys of the objects filed under value in the named index (client-go's IndexKeys). */
  indexKeys(name: string, value: string): string[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    return [...(index.get(value) ?? [])];
  }

  private updateIndices(key: string, old: T | undefined, obj: T | undefined): void {
    for (const name of this.indexers.keys()) {
      const before = old === undefined ? [] : this.valuesOf(name, key, old);
      const after = obj === undefined ? [] : this.valuesOf(name, key, obj);
      this.unfile(name, key, before.filter((v) => !after.includes(v)));
      this.file(name, key, after);
    }
  }

  private valuesOf(name: string, key: string, obj: T): string[] {
    try {
      return [...new Set(this.indexers.get(name)!(obj))];
    } catch (err) {
      this.onIndexError(name, key, err);
      return [];
    }
  }

  private file(name: string, key: string, values: string[]): void {
    const index = this.indices.get(name)!;
    for (const value of values) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unfile(name: string, key: string, values: string[]): void {
    const index = this.indices.get(name)!;
    for (const value of values) {
      const keys = index.get(value);
      keys?.delete(key);
      // Empty sets would pile up as objects come and go with ever new values.
      if (keys?.size === 0) index.delete(value);
    }
  }
}
