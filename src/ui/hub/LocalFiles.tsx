import { useState, type DragEvent } from 'react';

/** A checkpoint folder from this computer: picked as a folder, as several files, or dropped. */
export function LocalFiles({ onFiles, disabled }: { onFiles: (label: string, files: File[]) => void; disabled: boolean }) {
  const [over, setOver] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const pick = (list: FileList | null) => {
    // A checkpoint's files sit at the top of its folder; subfolders (onnx/, runs/) are not read.
    const files = [...(list ?? [])].filter((f) => f.webkitRelativePath.split('/').length <= 2);
    if (files.length === 0) return;
    // A folder pick names each file "folder/sub/file"; the folder is the label.
    const folder = files[0].webkitRelativePath.split('/')[0];
    onFiles(folder || (files.length === 1 ? files[0].name : `${files.length} local files`), files);
  };

  const drop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    setError(null);
    try {
      const { label, files } = await droppedFiles(e.dataTransfer);
      if (files.length) onFiles(label, files);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <div>
      <p className="muted">
        A checkpoint folder as <code>save_pretrained</code> writes it: config.json, model.safetensors (or its shards and index) and the tokenizer files.
        Nothing is uploaded: the files are read in this tab.
      </p>
      <div className="fields">
        <label htmlFor="local-folder">Folder</label>
        {/* webkitdirectory is not in React's types; it is set on the element itself. */}
        <input
          id="local-folder"
          data-testid="local.folder"
          type="file"
          ref={(el) => el?.setAttribute('webkitdirectory', '')}
          disabled={disabled}
          onChange={(e) => {
            pick(e.target.files);
            e.target.value = '';
          }}
        />
        <label htmlFor="local-files">Files</label>
        <input
          id="local-files"
          data-testid="local.files"
          type="file"
          multiple
          accept=".json,.safetensors,.txt,.model"
          disabled={disabled}
          onChange={(e) => {
            pick(e.target.files);
            e.target.value = '';
          }}
        />
      </div>
      <div
        className={`dropzone${over ? ' dropzone-active' : ''}`}
        data-testid="local.drop"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => void drop(e)}
      >
        Drop a checkpoint folder (or its files) here
      </div>
      {error && (
        <p className="note note-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** Files of a drop; a dropped folder is read through the drag-and-drop file system entries API. */
async function droppedFiles(data: DataTransfer): Promise<{ label: string; files: File[] }> {
  const entries = [...data.items].map((item) => item.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return { label: 'dropped files', files: [...data.files] };
  const files: File[] = [];
  for (const entry of entries) files.push(...(await topLevelFiles(entry)));
  const dir = entries.length === 1 && entries[0].isDirectory ? entries[0].name : null;
  return { label: dir ?? (files.length === 1 ? files[0].name : `${files.length} dropped files`), files };
}

const fileOf = (entry: FileSystemEntry) => new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));

/** A file, or the files directly inside a folder (subfolders are not read, as with a folder pick). */
async function topLevelFiles(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) return [await fileOf(entry)];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: File[] = [];
  // readEntries returns at most ~100 entries per call; an empty batch means the end.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    for (const child of batch) if (child.isFile) out.push(await fileOf(child));
  }
}
